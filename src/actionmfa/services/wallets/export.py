"""Private-key export (DESIGN §7), gated by ``wallet.waas.export``: the server HPKE-seals its share
to the client's ephemeral P-256 key (RFC 9180, ``info`` bound to wallet, request and token), and the
client adds its own share. Export hooks hear of every export after it committed (no secret in them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import ExportNotice
from actionmfa.wallet.export import ExportEnvelope, export_info, parse_recipient_key, seal_share

log = logging.getLogger("actionmfa.wallets")

ExportHook = Callable[[ExportNotice], None]


class Export:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, vault: WalletVault) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.vault = vault
        self.hooks: list[ExportHook] = []  # notified after each export commits (tests, operators)

    def export(self, ctx: AuthContext, wallet_id: str, *, recipient_public_key: str, request_id: str,
               proof: Proof) -> dict[str, Any]:
        """``POST /waas/{walletId}/privateKey/export``: the server share, HPKE-sealed to the client."""
        recipient = parse_recipient_key(recipient_public_key)
        if not request_id or len(request_id) > 128:
            raise InvalidRequestError("A request id is required", field="x-dyn-request-id")
        now = self.clock.now()
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self.vault.wallet(uow, ctx, wallet_id)
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_EXPORT, proof)
            token_ref = decision.token_id or "none"
            share = self.vault.open_share(wallet)
            envelope: ExportEnvelope = seal_share(share.x1, recipient, export_info(wallet.id, request_id, token_ref))
            audit.record(uow, ctx, AuditEvent.WALLET_EXPORTED, now=now, action=MFAAction.WALLET_WAAS_EXPORT.value,
                         outcome="ok", walletId=wallet.id, address=wallet.address, requestId=request_id,
                         via=decision.via.value)
        notice = ExportNotice(ctx.environment.id, ctx.user.id, wallet.id, wallet.address, request_id, now)
        for hook in self.hooks:
            try:
                hook(notice)
            except Exception:  # a notification failure must not undo a committed export
                log.exception("wallet export hook failed")
        return {**envelope.to_json(), "walletId": wallet.id, "requestId": request_id, "tokenId": token_ref,
                "keyVersion": wallet.key_version}
