"""Step-up: is MFA required for an action or scope, and which credentials could answer it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actionmfa.domain.actions import MFAAction, actions_of_scope
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import KNOWN_SCOPES
from actionmfa.errors import InvalidScopesError
from actionmfa.services.core.gate import Gate
from actionmfa.services.core.ports import Transactions
from actionmfa.services.mfa.ports import MfaUnit


class StepUp:
    def __init__(self, db: Transactions[MfaUnit], gate: Gate) -> None:
        self.db = db
        self.gate = gate

    def is_required_for_action(self, ctx: AuthContext, action: MFAAction) -> bool:
        """``POST /mfa/isRequiredForAction {mfaAction}`` (DESIGN §4, the requirement rule)."""
        with self.db.read() as uow:
            return self.gate.is_required(uow, ctx, action)

    def step_up_check(self, ctx: AuthContext, scope: str) -> dict[str, Any]:
        """``POST /stepUp/check {scope}`` → ``{isRequired, credentials, defaultCredentialId}``."""
        if scope not in KNOWN_SCOPES:
            raise InvalidScopesError(f"unknown scope {scope!r}", field="scope")
        # A scope covering several actions (Dynamic's wallet:delegate: refresh and reshare) is required
        # when any of them is.
        actions = actions_of_scope(scope)
        with self.db.read() as uow:
            required = (
                any(self.gate.is_required(uow, ctx, a) for a in actions)
                if actions
                else self.gate.is_required(uow, ctx, scope)
            )
            devices = [d for d in uow.mfa.devices(ctx.user.id) if d.verified]
            passkeys = uow.passkeys.for_user(ctx.user.id)
        if not required:
            return {"isRequired": False, "credentials": [], "defaultCredentialId": None}
        creds: list[tuple[datetime, dict[str, Any]]] = []
        for d in devices:
            creds.append((d.created_at, {"id": d.id, "format": "totp", "type": "totp", "alias": d.alias}))
        for p in passkeys:
            creds.append((p.created_at, {"id": p.id, "format": "passkey", "type": "passkey", "alias": p.alias}))
        default = next((d.id for d in devices if d.is_default), None)
        if default is None and creds:
            default = max(creds, key=lambda c: c[0])[1]["id"]  # the most recently added method
        return {"isRequired": True, "credentials": [c for _, c in creds], "defaultCredentialId": default}
