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


def has_verified_method(uow: CoreUnit, user_id: str, settings: MfaSettings) -> bool:
    """A verified method that counts under the environment's MFA ``settings``."""
    if method_counts(settings, MFADeviceType.TOTP) and uow.mfa.count_verified_devices(user_id) > 0:
        return True
    # A passkey flagged as possibly cloned still counts: flagging must not lift the requirement.
    return method_counts(settings, MFADeviceType.PASSKEY) and uow.passkeys.count_for_user(user_id) > 0
