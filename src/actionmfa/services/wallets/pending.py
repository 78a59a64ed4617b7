"""The user's side of an operator's delegation decision (issue 13.2).

The operator marks wallets ``approve_delegation`` or ``revoke_delegation``
(:meth:`actionmfa.services.wallets.admin.WalletAdmin.mark_delegation`); the wallet view carries it as
``pendingAction``; the user's SDK completes it with the ordinary gated reshare
(``wallet.waas.reshare``), whose confirmation clears the mark — or the user declines an approval here.
A revocation cannot be declined: the operator's decision to take the delegate's share away stands.
"""

from __future__ import annotations

from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.models import AuthContext
from actionmfa.domain.wallets import PendingAction
from actionmfa.errors import WalletReshareConflictError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView


class PendingActions:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, vault: WalletVault) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault

    def decline(self, ctx: AuthContext, wallet_id: str) -> dict[str, Any]:
        """``POST /waas/{walletId}/delegation/decline``: the user refuses an approved delegation."""
        now = self.clock.now()
        with self.db.write() as uow:
            wallet = self.vault.wallet(uow, ctx, wallet_id, for_update=True)
            if wallet.pending_action != PendingAction.APPROVE_DELEGATION.value:
                raise WalletReshareConflictError("This wallet has no delegation approval to decline")
            uow.wallets.set_pending_action(ctx.environment.id, action=None, scheme=wallet.threshold_scheme,
                                           wallet_id=wallet.id, now=now)
            audit.record(uow, ctx, AuditEvent.WALLET_DELEGATION_DECLINED, now=now, outcome="ok", walletId=wallet.id)
            updated = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        return {"wallet": WalletView.of(updated).to_json()}
