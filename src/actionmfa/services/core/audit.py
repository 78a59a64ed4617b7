"""The audit log writer and its one event vocabulary, shared by every area.

``record(uow, who, event, now=..., **details)`` adds one row in the caller's transaction, so an
event is logged exactly when its effect commits. ``who`` is an :class:`AuthContext` or
:class:`AuditIds`. Details are JSON; keys that could carry a secret (codes, secrets, tokens,
passwords, keys) are refused outright — the log must stay safe to hand to an operator.

Denials that roll back the caller's transaction are written afterwards by
:func:`actionmfa.services.core.gate.denials_recorded` (see there). Reading the log is the
operator's (:mod:`actionmfa.services.operator.audit_log`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from actionmfa.domain.models import AuthContext
from actionmfa.services.core.ports import AuditUnit


class AuditEvent(StrEnum):
    """Every event name the audit log holds (``audit_log.event``; the strings never change)."""

    # sign-in
    USER_CREATED = "auth.user_created"
    SIGNED_IN = "auth.signed_in"
    SESSION_MFA_COMPLETED = "session.mfa_completed"
    # the MFA core
    MFA_ENROLLED = "mfa.enrolled"
    MFA_ENROLLMENT_STARTED = "mfa.enrollment_started"
    MFA_AUTH_SUCCEEDED = "mfa.auth_succeeded"
    MFA_AUTH_FAILED = "mfa.auth_failed"  # every factor's failed authentication, passkeys included
    MFA_LOCKED_OUT = "mfa.locked_out"
    MFA_RATE_LIMITED = "mfa.rate_limited"
    MFA_DEVICE_DELETED = "mfa.device_deleted"
    MFA_DEVICE_DEFAULT_SET = "mfa.device_default_set"
    MFA_RESET = "mfa.reset"
    RECOVERY_CODES_CREATED = "mfa.recovery_codes_created"
    RECOVERY_CODES_ACKNOWLEDGED = "mfa.recovery_codes_acknowledged"
    # the gate and its proofs
    MFA_TOKEN_MINTED = "mfa_token.minted"  # noqa: S105 - an event name
    MFA_TOKEN_SPENT = "mfa_token.spent"  # noqa: S105 - an event name
    ELEVATED_TOKEN_MINTED = "elevated_token.minted"  # noqa: S105 - an event name
    ELEVATED_TOKEN_SPENT = "elevated_token.spent"  # noqa: S105 - an event name
    GATE_ALLOWED = "gate.allowed"
    GATE_DENIED = "gate.denied"
    # passkeys
    PASSKEY_REGISTERED = "passkey.registered"
    PASSKEY_REGISTRATION_FAILED = "passkey.registration_failed"
    PASSKEY_POSSIBLY_CLONED = "passkey.possibly_cloned"
    PASSKEY_RENAMED = "passkey.renamed"
    PASSKEY_DELETED = "passkey.deleted"
    # wallets
    WALLET_CREATED = "wallet.created"
    WALLET_SIGN_OPENED = "wallet.sign_opened"
    WALLET_SIGNED = "wallet.signed"
    WALLET_SIGNATURE_INVALID = "wallet.signature_invalid"
    WALLET_SIGN_PROOF_INVALID = "wallet.sign_proof_invalid"
    WALLET_REFRESH_OPENED = "wallet.refresh_opened"
    WALLET_REFRESHED = "wallet.refreshed"
    WALLET_EXPORTED = "wallet.exported"
    WALLET_UNLOCKED = "wallet.unlocked"
    WALLET_RESHARE_OPENED = "wallet.reshare_opened"
    WALLET_RESHARED = "wallet.reshared"
    WALLET_DELEGATION_DELIVERED = "wallet.delegation_delivered"
    WALLET_DELEGATION_DELIVERY_FAILED = "wallet.delegation_delivery_failed"
    WALLET_DELEGATION_SECRET_CREATED = "wallet.delegation_secret_created"  # noqa: S105 - an event name
    WALLET_DELEGATE_RING_REGISTERED = "wallet.delegate_ring_registered"
    WALLET_CREATION_ABANDONED = "wallet.creation_abandoned"
    WALLET_DELEGATED_SIGN_OPENED = "wallet.delegated_sign_opened"
    WALLET_DELEGATED_SIGNED = "wallet.delegated_signed"
    WALLET_DELEGATION_PENDING = "wallet.delegation_pending"  # the operator approved or revoked
    WALLET_DELEGATION_DECLINED = "wallet.delegation_declined"  # the user declined an approval
    WALLET_PREGENERATED = "wallet.pregenerated"  # the operator made a wallet for an identity (issue 13.1)
    WALLET_PREGENERATED_ATTACHED = "wallet.pregenerated_attached"  # the identity signed in: the wallet is theirs
    WALLET_CLAIMED = "wallet.claimed"  # the stand-in share was delivered to its user (HPKE)
    WALLET_STANDIN_ERASED = "wallet.standin_erased"  # the claim's refresh committed: custody ended
    WALLET_DELEGATION_WITHDRAWN = "wallet.delegation_withdrawn"  # a revocation withdrew a pending approval
    # the operator
    KEYS_ROTATED = "keys.rotated"
    WEBHOOK_REDELIVERED = "webhook.redelivered"  # an operator queued an event again


_SECRET_WORDS = ("code", "secret", "token", "password", "jwt", "key", "otp", "seed")


@dataclass(frozen=True, slots=True)
class AuditIds:
    environment_id: str | None
    user_id: str | None = None
    session_id: str | None = None
    client_address: str | None = None


def ids_of(who: AuthContext | AuditIds) -> AuditIds:
    if isinstance(who, AuditIds):
        return who
    return AuditIds(
        environment_id=who.environment.id,
        user_id=who.user.id,
        session_id=who.session.id,
        client_address=who.meta.client_address,
    )


def _check_details(details: dict[str, Any]) -> None:
    for name in details:
        lowered = name.lower()
        # Ids of secrets (tokenId, activeKeyId) are fine; the secrets themselves are not.
        if any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith("id"):
            raise ValueError(f"audit detail {name!r} looks secret; log an id or a reason instead")


def row_values(
    who: AuthContext | AuditIds,
    event: AuditEvent,
    *,
    now: datetime,
    action: str | None = None,
    outcome: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    _check_details(details)
    ids = ids_of(who)
    return {
        "environment_id": ids.environment_id,
        "user_id": ids.user_id,
        "session_id": ids.session_id,
        "event": str(event),
        "action": action,
        "outcome": outcome,
        "details": details,
        "client_address": ids.client_address,
        "created_at": now,
    }


def record(
    uow: AuditUnit,
    who: AuthContext | AuditIds,
    event: AuditEvent,
    *,
    now: datetime,
    action: str | None = None,
    outcome: str | None = None,
    **details: Any,
) -> None:
    """Append one audit row in the caller's transaction."""
    uow.audit.add(row_values(who, event, now=now, action=action, outcome=outcome, **details))
