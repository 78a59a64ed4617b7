"""The audit log writer, shared by every area (MFA, passkeys, wallets).

``record(uow, who, event, now=..., **details)`` adds one row in the caller's transaction, so an
event is logged exactly when its effect commits. ``who`` is an :class:`AuthContext` or
:class:`AuditIds`. Details are JSON; keys that could carry a secret (codes, secrets, tokens,
passwords, keys) are refused outright — the log must stay safe to hand to an operator.

Denials that roll back the caller's transaction are written afterwards by
:func:`actionmfa.services.core.gate.denials_recorded` (see there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select

from actionmfa.domain.models import AuthContext
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.uow import UnitOfWork


class AuditEvent(StrEnum):
    MFA_ENROLLED = "mfa.enrolled"
    MFA_ENROLLMENT_STARTED = "mfa.enrollment_started"
    MFA_AUTH_SUCCEEDED = "mfa.auth_succeeded"
    MFA_AUTH_FAILED = "mfa.auth_failed"
    MFA_LOCKED_OUT = "mfa.locked_out"
    MFA_RATE_LIMITED = "mfa.rate_limited"
    MFA_DEVICE_DELETED = "mfa.device_deleted"
    MFA_DEVICE_DEFAULT_SET = "mfa.device_default_set"
    MFA_RESET = "mfa.reset"
    RECOVERY_CODES_CREATED = "mfa.recovery_codes_created"
    RECOVERY_CODES_ACKNOWLEDGED = "mfa.recovery_codes_acknowledged"
    MFA_TOKEN_MINTED = "mfa_token.minted"  # noqa: S105 - an event name
    MFA_TOKEN_SPENT = "mfa_token.spent"  # noqa: S105 - an event name
    ELEVATED_TOKEN_MINTED = "elevated_token.minted"  # noqa: S105 - an event name
    ELEVATED_TOKEN_SPENT = "elevated_token.spent"  # noqa: S105 - an event name
    GATE_ALLOWED = "gate.allowed"
    GATE_DENIED = "gate.denied"
    SESSION_MFA_COMPLETED = "session.mfa_completed"
    KEYS_ROTATED = "keys.rotated"


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
    event: str,
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
    uow: UnitOfWork,
    who: AuthContext | AuditIds,
    event: str,
    *,
    now: datetime,
    action: str | None = None,
    outcome: str | None = None,
    **details: Any,
) -> None:
    """Append one audit row in the caller's transaction."""
    uow.conn.execute(
        insert(audit_log).values(**row_values(who, event, now=now, action=action, outcome=outcome, **details))
    )


def page(
    uow: UnitOfWork, environment_id: str, *, cursor: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; ``cursor`` is the last id of the previous page. Returns rows and the next cursor."""
    q = select(audit_log).where(audit_log.c.environment_id == environment_id)
    if cursor is not None:
        q = q.where(audit_log.c.id < cursor)
    rows = uow.conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": r.id,
            "event": r.event,
            "action": r.action,
            "outcome": r.outcome,
            "userId": r.user_id,
            "sessionId": r.session_id,
            "clientAddress": r.client_address,
            "details": r.details,
            "createdAt": r.created_at.isoformat(),
        }
        for r in rows
    ]
    return items, (rows[-1].id if more and rows else None)
