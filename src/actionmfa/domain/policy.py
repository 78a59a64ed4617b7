"""The requirement rule (DESIGN §4) and the session-MFA rule (DESIGN §3, issue 3 item 7).

Both are pure functions of the environment's MFA settings and one fact about the user (does the
user have at least one verified MFA method that counts: a verified TOTP device, or a passkey while
passkeys are enabled — :func:`method_counts`). Nothing else in the code base decides these questions.
"""

from __future__ import annotations

from enum import Enum

from actionmfa.domain.actions import MFAAction, MFADeviceType, MfaEnrollment, SessionScope
from actionmfa.domain.settings import MfaSettings


def method_counts(settings: MfaSettings, kind: MFADeviceType) -> bool:
    """Whether a user's verified method of this kind counts as "has a verified MFA method".

    A passkey counts only while passkeys are enabled: switched off, passkeys are refused for
    authentication, so counting them would ask users for a factor they cannot present (a
    passkey-only user would be left with recovery codes alone). They count again once re-enabled.
    A TOTP device always counts: switching TOTP off only stops new enrolments, existing devices
    still authenticate.
    """
    if kind is MFADeviceType.PASSKEY:
        return settings.method_enabled(MFADeviceType.PASSKEY)
    return True


def has_any_method(*, verified_devices: int, passkeys: int) -> bool:
    """A verified TOTP device or any stored passkey, whatever the settings say about counting them:
    the strict question for "may a pending device still become the first method without proof"."""
    return verified_devices > 0 or passkeys > 0


class Requirement(Enum):
    """What the settings alone say about an action's need for MFA (the user's methods aside)."""

    NO = "no"
    YES = "yes"
    IF_ENROLLED = "if_enrolled"  # only if the user has a verified method that counts


def requirement_for_action(settings: MfaSettings, action: MFAAction) -> Requirement:
    """DESIGN §4, exactly.

    * no if the action is not ``required`` in settings;
    * else yes if ``mfa.required`` (enrollment signup/action): a user with no method must enrol first;
    * else only if the user has at least one verified MFA method
      ("we only require action-based MFA once the user already has a MFA method registered").
    """
    if not settings.action(action).required:
        return Requirement.NO
    if settings.required:
        return Requirement.YES
    return Requirement.IF_ENROLLED


def is_required_for_action(settings: MfaSettings, action: MFAAction, *, has_verified_method: bool) -> bool:
    """:func:`requirement_for_action` answered for a user who has (or has not) a verified method."""
    requirement = requirement_for_action(settings, action)
    return requirement is Requirement.YES or (requirement is Requirement.IF_ENROLLED and has_verified_method)


def requires_mfa_when_enrolled(*, has_verified_method: bool) -> bool:
    """Operations on MFA itself (unlink a method, regenerate recovery codes) need proof of MFA
    whenever the user has a verified method: otherwise a stolen session alone could strip the
    second factor. They are not configurable actions, so the settings play no part."""
    return has_verified_method


def session_scope_at_sign_in(settings: MfaSettings, *, has_verified_method: bool) -> SessionScope:
    """The scope a fresh session gets (session-based MFA).

    ``requiresAdditionalAuth`` when session MFA is ``enabled`` and the user has a verified method
    (prove it now), or when ``enrollment`` is ``signup`` and the user has none (enrol now);
    otherwise ``user:basic``.
    """
    if settings.enabled and has_verified_method:
        return SessionScope.REQUIRES_ADDITIONAL_AUTH
    if settings.enrollment is MfaEnrollment.SIGNUP and not has_verified_method:
        return SessionScope.REQUIRES_ADDITIONAL_AUTH
    return SessionScope.USER_BASIC
