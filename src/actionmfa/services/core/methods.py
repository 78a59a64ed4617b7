""""Does the user have a verified MFA method?" — the one fact about a user the MFA rules need.

The store counts; the rule of what counts is :func:`actionmfa.domain.policy.method_counts` (a
verified TOTP device always; a stored passkey, also one flagged as possibly cloned, only while
passkeys are enabled in the environment's settings). Asked by the gate, by sign-in (session-based
MFA) and by the MFA core.
"""

from __future__ import annotations

from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.policy import method_counts
from actionmfa.domain.settings import MfaSettings
from actionmfa.services.core.ports import CoreUnit


def counted_methods(settings: MfaSettings) -> tuple[bool, bool]:
    """(verified TOTP devices count, passkeys count) under the environment's MFA ``settings`` — a
    passkey flagged as possibly cloned counts too: flagging must not lift the requirement. For a
    statement that asks the question itself (the gate's one-statement spend, store/repos/tokens.py)."""
    return method_counts(settings, MFADeviceType.TOTP), method_counts(settings, MFADeviceType.PASSKEY)


def has_verified_method(uow: CoreUnit, user_id: str, settings: MfaSettings) -> bool:
    """A verified method that counts under the environment's MFA ``settings``."""
    devices, passkeys = counted_methods(settings)
    if devices and uow.mfa.count_verified_devices(user_id) > 0:
        return True
    return passkeys and uow.passkeys.count_for_user(user_id) > 0
