"""Export of a Solana wallet's key, gated by ``wallet.waas.export`` (as for EVM, :mod:`.export`):
the server's FROST share HPKE-sealed to the client's one-time P-256 key
(:mod:`actionmfa.wallet.solana.export`); the same export hooks hear of it after it committed."""

from __future__ import annotations

import logging
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.errors import InvalidRequestError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.export import ExportHook
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.solana_shares import SolanaShares
from actionmfa.services.wallets.views import ExportNotice
from actionmfa.wallet.export import export_info, parse_recipient_key
from actionmfa.wallet.solana.export import seal_server_share

log = logging.getLogger("actionmfa.wallets")


class SolanaExport:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, shares: SolanaShares,
                 hooks: list[ExportHook]) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.shares = shares
        self.hooks = hooks  # the EVM export's list: one place to subscribe

    def export(self, ctx: AuthContext, wallet_id: str, *, recipient_public_key: str, request_id: str,
               proof: Proof) -> dict[str, Any]:
        recipient = parse_recipient_key(recipient_public_key)
        if not request_id or len(request_id) > 128:
            raise InvalidRequestError("A request id is required", field="x-dyn-request-id")
        now = self.clock.now()
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self.shares.wallet(uow, ctx, wallet_id)
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_EXPORT, proof)
            token_ref = decision.token_id or "none"
            envelope = seal_server_share(self.shares.open(wallet), recipient,
                                         export_info(wallet.id, request_id, token_ref))
            audit.record(uow, ctx, AuditEvent.WALLET_EXPORTED, now=now, action=MFAAction.WALLET_WAAS_EXPORT.value,
                         outcome="ok", walletId=wallet.id, address=wallet.address, requestId=request_id,
                         via=decision.via.value, chain=wallet.chain.value)
        notice = ExportNotice(ctx.environment.id, ctx.user.id, wallet.id, wallet.address, request_id, now)
        for hook in self.hooks:
            try:
                hook(notice)
            except Exception:  # a notification failure must not undo a committed export
                log.exception("wallet export hook failed")
        return {**envelope.to_json(), "walletId": wallet.id, "requestId": request_id, "tokenId": token_ref,
                "keyVersion": wallet.key_version, "chain": wallet.chain.value}
