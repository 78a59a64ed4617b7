"""Refresh (DESIGN §7): coin-tossed re-randomisation of both shares plus a new Paillier key, gated by
``wallet.waas.refresh`` (:mod:`actionmfa.wallet.refresh`). Same address, new shares, key version + 1.

A locked wallet may be refreshed (it stays locked: unlocking is the operator's decision). A
delegated one is not refreshed here (an additive refresh would leave the delegate's Shamir share on
another polynomial) but re-dealt by the reshare ceremony (:mod:`actionmfa.services.wallets.reshare`).
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
from actionmfa.errors import CeremonyInvalidError, WalletReshareConflictError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.pregenerated import erase_standin
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet.refresh import (
    RefreshConfirm,
    RefreshContribution,
    ServerRefreshState,
    refresh_session_id,
    server_refresh_begin,
    server_refresh_confirm,
    server_refresh_open,
)
from actionmfa.wallet.reshare import ThresholdScheme


class Refresh:
    def __init__(
        self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, vault: WalletVault, keys: PaillierKeys
    ) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.vault = vault
        self.keys = keys

    def open_refresh(self, ctx: AuthContext, wallet_id: str, proof: Proof) -> dict[str, Any]:
        """``POST /waas/{walletId}/refresh``: the gate, then commit to ρ1 and set aside a new Paillier key."""
        prepared = self.keys.take()
        ceremony_id = str(uuid.uuid4())
        now = self.clock.now()
        try:
            with denials_recorded(self.db), self.db.write() as uow:
                wallet = self.vault.wallet(uow, ctx, wallet_id, pregenerated=True)  # a claim ends with this
                if wallet.threshold_scheme != ThresholdScheme.TWO_OF_TWO:
                    # An additive refresh of the user pair would leave the delegate's Shamir share
                    # on another polynomial (useless); revoke the delegation first.
                    raise WalletReshareConflictError(
                        "A delegated wallet is refreshed by re-dealing it: POST /waas/{walletId}/reshare with "
                        "TWO_OF_THREE → TWO_OF_THREE (the SDK's wallet.refresh() does)")
                decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_REFRESH, proof)
                sid = refresh_session_id(wallet.id, ceremony_id, wallet.key_version)
                message, state = server_refresh_begin(sid, prepared)
                expires = self.vault.open_ceremony(
                    uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                    session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.REFRESH,
                    state={"keyVersion": wallet.key_version, **state.to_json()}, now=now,
                )
                audit.record(uow, ctx, AuditEvent.WALLET_REFRESH_OPENED, now=now,
                             action=MFAAction.WALLET_WAAS_REFRESH.value, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, via=decision.via.value)
        except BaseException:
            self.keys.put(prepared)  # unused: give it back
            raise
        return {"ceremonyId": ceremony_id, "walletId": wallet.id, "keyVersion": wallet.key_version,
                "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _round(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, ceremony_id: str, stage: Stage,
               now: datetime) -> tuple[WalletRow, ServerRefreshState]:
        wallet = self.vault.wallet(uow, ctx, wallet_id, for_update=True, pregenerated=True)
        row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.REFRESH, stage, now)
        data = self.vault.open_state(row)
        if row.wallet_id != wallet.id or data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet changed since this refresh was opened")
        return wallet, ServerRefreshState.from_json(data)

    def refresh_open(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                     message: dict[str, Any]) -> dict[str, Any]:
        """``…/refresh/{ceremonyId}``: combine ρ, compute x1′ and ckey′ under the new key; keep them pending."""
        contribution = RefreshContribution.from_json(message)
        with self.db.read() as uow:  # an unknown ceremony is refused before the costly Πprm check
            self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.REFRESH, Stage.OPENED, self.clock.now())
        self.keys.check_ring(contribution.ring)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, state = self._round(uow, ctx, wallet_id, ceremony_id, Stage.OPENED, now)
            opening, state = server_refresh_open(self.vault.open_share(wallet), state, contribution)
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.REPLIED, now,
                               state={"keyVersion": wallet.key_version, **state.to_json()})
        return {"ceremonyId": ceremony_id, "message": opening.to_json()}

    def refresh_confirm(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                        message: dict[str, Any]) -> dict[str, Any]:
        """``…/refresh/{ceremonyId}/confirm``: the client proved it holds x2′; switch to (x1′, N′)
        and drop the old Paillier key."""
        confirm = RefreshConfirm.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, state = self._round(uow, ctx, wallet_id, ceremony_id, Stage.REPLIED, now)
            new_share = server_refresh_confirm(self.vault.open_share(wallet), state, confirm)
            self.vault.finish(uow, ceremony_id, Stage.REPLIED, now)
            uow.wallets.replace_share(wallet.id, server_share=self.vault.seal_share(wallet.id, new_share),
                                      key_version=wallet.key_version + 1, now=now, key_ceremony_id=ceremony_id)
            erase_standin(uow, ctx, wallet, now, ceremony_id=ceremony_id)  # a pregenerated wallet's claim ends here
            audit.record(uow, ctx, AuditEvent.WALLET_REFRESHED, now=now,
                         action=MFAAction.WALLET_WAAS_REFRESH.value, outcome="ok", walletId=wallet.id,
                         ceremonyId=ceremony_id, shareVersion=wallet.key_version + 1,
                         locked=wallet.locked_at is not None)
            updated = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        return {"wallet": WalletView.of(updated).to_json()}
