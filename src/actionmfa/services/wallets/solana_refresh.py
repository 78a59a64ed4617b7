"""Proactive refresh of a Solana wallet, gated by ``wallet.waas.refresh``: both parties add shares of
a random polynomial with zero constant term (:mod:`actionmfa.wallet.frost.dkg`), so the key and the
address stay and the old shares stop combining with the new ones.

``POST /waas/{walletId}/refresh`` (gate; the server commits to its package) →
``…/refresh/{ceremonyId}`` (the user's package and share; the server's new share is kept **pending**
in the sealed ceremony state, its package and the user's share answered) →
``…/refresh/{ceremonyId}/confirm`` (the user proves it holds its new share; the server switches and
bumps ``keyVersion``). The SDK writes its new share as pending before confirming, so a lost answer
at any step leaves both sides on one consistent version.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import WalletRow
from actionmfa.domain.tokens import Proof
from actionmfa.domain.wallets import CeremonyKind, Stage
from actionmfa.errors import CeremonyInvalidError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.solana_shares import SolanaShares
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost.keys import KeyShare
from actionmfa.wallet.frost.transcript import refresh_context


class SolanaRefresh:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, vault: WalletVault,
                 shares: SolanaShares) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.vault = vault
        self.shares = shares

    def open_refresh(self, ctx: AuthContext, wallet_id: str, proof: Proof) -> dict[str, Any]:
        ceremony_id = str(uuid.uuid4())
        now = self.clock.now()
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self.shares.wallet(uow, ctx, wallet_id)
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_REFRESH, proof)
            context = refresh_context(wallet_id=wallet.id, ceremony_id=ceremony_id, key_version=wallet.key_version)
            message, state = fc.server_refresh_begin(context)
            expires = self.vault.open_ceremony(
                uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.REFRESH,
                state={"keyVersion": wallet.key_version, "frost": state}, now=now,
            )
            audit.record(uow, ctx, AuditEvent.WALLET_REFRESH_OPENED, now=now,
                         action=MFAAction.WALLET_WAAS_REFRESH.value, outcome="ok", walletId=wallet.id,
                         ceremonyId=ceremony_id, via=decision.via.value)
        return {"ceremonyId": ceremony_id, "walletId": wallet.id, "keyVersion": wallet.key_version,
                "expiresAt": expires.isoformat(), "message": message}

    def _round(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, ceremony_id: str, stage: Stage,
               now: datetime) -> tuple[WalletRow, dict[str, Any], bytes]:
        wallet = self.shares.wallet(uow, ctx, wallet_id, for_update=True)
        row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.REFRESH, stage, now)
        data = self.vault.open_state(row)
        if row.wallet_id != wallet.id or data.get("keyVersion") != wallet.key_version or "frost" not in data:
            raise CeremonyInvalidError("The wallet changed since this refresh was opened")
        return wallet, data, refresh_context(wallet_id=wallet.id, ceremony_id=ceremony_id,
                                             key_version=wallet.key_version)

    def refresh_open(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                     message: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, data, context = self._round(uow, ctx, wallet_id, ceremony_id, Stage.OPENED, now)
            reply, new_share = fc.server_refresh_finish(self.shares.open(wallet), data["frost"], context, message)
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.REPLIED, now,
                               state={"keyVersion": wallet.key_version, "frost": {}, "pending": new_share.to_json()})
        return {"ceremonyId": ceremony_id, "message": reply}

    def refresh_confirm(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                        message: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, data, context = self._round(uow, ctx, wallet_id, ceremony_id, Stage.REPLIED, now)
            new_share = KeyShare.from_json(data["pending"])
            fc.check_refresh_confirmation(new_share, context, message)
            self.vault.finish(uow, ceremony_id, Stage.REPLIED, now)
            uow.wallets.replace_share(wallet.id, server_share=self.shares.seal(wallet.id, new_share),
                                      key_version=wallet.key_version + 1, now=now)
            audit.record(uow, ctx, AuditEvent.WALLET_REFRESHED, now=now,
                         action=MFAAction.WALLET_WAAS_REFRESH.value, outcome="ok", walletId=wallet.id,
                         ceremonyId=ceremony_id, shareVersion=wallet.key_version + 1,
                         locked=wallet.locked_at is not None)
            updated = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        return {"wallet": WalletView.of(updated).to_json()}
