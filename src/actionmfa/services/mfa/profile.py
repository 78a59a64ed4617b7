"""Self-service profile updates: ``PUT /users`` (the ``user.update`` action).

Profile changes (alias, names, metadata) are gated by ``user.update``; acknowledging the recovery
codes alone is not (DESIGN §3), so both live here, in the MFA core, behind one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import BackupCodeAcknowledgement, MFAAction, SessionScope
from actionmfa.domain.credentials import VerifiedCredential
from actionmfa.domain.models import AuthContext, User
from actionmfa.domain.tokens import Proof
from actionmfa.errors import InvalidRequestError, MfaRequiredError
from actionmfa.services.core.credentials import Credentials
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import CoreUnit, Transactions
from actionmfa.services.core.sessions import Caller, SessionService
from actionmfa.services.mfa.ports import MfaUnit
from actionmfa.services.mfa.recovery import RecoveryCodes

MAX_METADATA_BYTES = 4096
_COLUMNS = {"alias": "alias", "firstName": "first_name", "lastName": "last_name", "metadata": "metadata"}


def validate_metadata(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidRequestError("metadata must be a JSON object", field="metadata")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_METADATA_BYTES:
        raise InvalidRequestError(f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata")


def profile_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """The profile columns a ``PUT /users`` body changes (acknowledgement excluded)."""
    validate_metadata(fields.get("metadata"))
    return {_COLUMNS[k]: v for k, v in fields.items() if k in _COLUMNS}


def update_self(uow: CoreUnit, ctx: AuthContext, fields: dict[str, Any], now: datetime) -> User:
    """Apply profile changes in the caller's transaction (the gate is the caller's business)."""
    changes = profile_changes(fields)
    if changes:
        user = uow.users.update_returning(ctx.environment.id, ctx.user.id, now, **changes)
    else:
        user = uow.users.get(ctx.environment.id, ctx.user.id)
    assert user is not None  # noqa: S101
    return user


def _checked_ack(fields: dict[str, Any]) -> str | None:
    ack = fields.get("mfaBackupCodeAcknowledgement")
    if ack is not None and ack != BackupCodeAcknowledgement.COMPLETE.value:
        raise InvalidRequestError(
            "mfaBackupCodeAcknowledgement can only be set to 'complete'", field="mfaBackupCodeAcknowledgement"
        )
    return None if ack is None else str(ack)


@dataclass(frozen=True, slots=True)
class SelfUpdate:
    """``PUT /users``'s outcome: the caller's session, the updated user, and the user's verified
    credentials read in the same transaction (for the answer)."""

    ctx: AuthContext
    user: User
    credentials: list[VerifiedCredential]


class Profile:
    def __init__(
        self, db: Transactions[MfaUnit], clock: Clock, gate: Gate, recovery: RecoveryCodes, sessions: SessionService
    ) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.recovery = recovery
        self.sessions = sessions

    def update_user(self, ctx: AuthContext, fields: dict[str, Any], proof: Proof) -> User:
        """``PUT /users``: gate ``user.update`` for profile changes, then acknowledge and apply."""
        ack = _checked_ack(fields)
        changes = profile_changes(fields)
        with denials_recorded(self.db), self.db.write() as uow:
            return self._apply(uow, ctx, fields, bool(changes), ack, proof)

    def update_caller(self, caller: Caller, fields: dict[str, Any], proof: Proof) -> SelfUpdate:
        """:meth:`update_user` for a full session, everything in one write transaction: the session
        (401 if it ended; 403 ``mfa_required`` while it waits for session MFA), the body's checks,
        the gate, the update, and the credentials the answer lists (issue 15: one transaction and
        one thread hop instead of three and two)."""
        with denials_recorded(self.db), self.db.write() as uow:
            ctx = self.sessions.context(uow, caller)
            if ctx.session.scope is SessionScope.REQUIRES_ADDITIONAL_AUTH:
                raise MfaRequiredError()
            ack = _checked_ack(fields)
            changes = profile_changes(fields)
            user = self._apply(uow, ctx, fields, bool(changes), ack, proof)
            return SelfUpdate(ctx, user, Credentials.in_unit(uow, user))

    def _apply(
        self, uow: MfaUnit, ctx: AuthContext, fields: dict[str, Any], changes: bool, ack: str | None, proof: Proof
    ) -> User:
        if changes:
            self.gate.enforce(uow, ctx, MFAAction.USER_UPDATE, proof)
        if ack is not None:
            self.recovery.acknowledge(uow, ctx, self.clock.now())
        return update_self(uow, ctx, fields, self.clock.now())
