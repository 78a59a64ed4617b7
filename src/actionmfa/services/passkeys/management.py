"""A user's passkeys: list, rename, delete (deleting needs ``credential:unlink`` proof)."""

from __future__ import annotations

from actionmfa.clock import Clock
from actionmfa.domain.actions import TokenScope
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import PasskeyRow
from actionmfa.domain.tokens import Proof
from actionmfa.errors import InvalidRequestError, PasskeyNotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.passkeys.ports import PasskeyUnit

MAX_ALIAS = 200


class PasskeyManagement:
    def __init__(self, db: Transactions[PasskeyUnit], clock: Clock, gate: Gate) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate

    def for_user(self, ctx: AuthContext) -> list[PasskeyRow]:
        with self.db.read() as uow:
            return uow.passkeys.for_user(ctx.user.id)

    def rename(self, ctx: AuthContext, passkey_id: str, alias: str | None) -> PasskeyRow:
        if alias is not None:
            alias = alias.strip()
            if len(alias) > MAX_ALIAS:
                raise InvalidRequestError(f"alias: at most {MAX_ALIAS} characters", field="alias")
        with self.db.write() as uow:
            now = self.clock.now()
            if not uow.passkeys.rename(ctx.user.id, passkey_id, alias or None, now):
                raise PasskeyNotFoundError()
            audit.record(uow, ctx, AuditEvent.PASSKEY_RENAMED, now=now, outcome="ok", deviceId=passkey_id)
            row = uow.passkeys.get(ctx.user.id, passkey_id)
        assert row is not None  # noqa: S101 - renamed in this transaction
        return row

    def delete(self, ctx: AuthContext, passkey_id: str, proof: Proof) -> None:
        """Remove a passkey; needs an MFA token or a ``credential:unlink`` elevated token."""
        with denials_recorded(self.db), self.db.write() as uow:
            if uow.passkeys.get(ctx.user.id, passkey_id) is None:
                raise PasskeyNotFoundError()
            self.gate.enforce(uow, ctx, TokenScope.CREDENTIAL_UNLINK, proof)
            uow.passkeys.delete(ctx.user.id, passkey_id)
            audit.record(
                uow, ctx, AuditEvent.PASSKEY_DELETED, now=self.clock.now(), outcome="ok", deviceId=passkey_id
            )
