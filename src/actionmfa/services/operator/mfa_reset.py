"""The operator's MFA reset: a user's devices, passkeys, recovery codes, tokens and lockout go."""

from __future__ import annotations

from actionmfa.clock import Clock
from actionmfa.errors import NotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import OperatorUnit


class MfaReset:
    def __init__(self, db: Transactions[OperatorUnit], clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def environment_of_user(self, user_id: str) -> str:
        """The user's environment (404 for an unknown user; the caller then checks the admin's scope)."""
        with self.db.read() as uow:
            env_id = uow.users.environment_of(user_id)
        if env_id is None:
            raise NotFoundError("User not found")
        return env_id

    def reset(self, environment_id: str, user_id: str, *, client_address: str | None = None) -> None:
        """Every MFA method and proof of the user is gone (audited ``mfa.reset``)."""
        with self.db.write() as uow:
            if uow.users.get(environment_id, user_id) is None:
                raise NotFoundError("User not found")
            uow.mfa.reset_user(user_id)
            uow.passkeys.delete_for_user(user_id)  # passkeys are MFA methods too
            ids = AuditIds(environment_id, user_id, None, client_address)
            audit.record(uow, ids, AuditEvent.MFA_RESET, now=self.clock.now(), outcome="ok", by="admin")

    def reset_as(self, principal: AdminPrincipal, user_id: str, *, client_address: str | None) -> str:
        """``POST /api/v0/users/{userId}/mfa/reset``; returns the user's environment id."""
        environment_id = self.environment_of_user(user_id)
        principal.require(environment_id)
        self.reset(environment_id, user_id, client_address=client_address)
        return environment_id
