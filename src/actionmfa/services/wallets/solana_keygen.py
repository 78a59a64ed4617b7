"""Solana wallet creation (``POST /waas/create {chain: "SOL"}``): the FROST paper's KeyGen between
the SDK (identifier 1) and the server (identifier 2), :mod:`actionmfa.wallet.frost.ceremony`.

Round 1 (open): the server draws its polynomial and answers with a hash of its round-one package;
the wallet id is fixed here so that every proof of knowledge is bound to environment, user, wallet
and ceremony. Round 2 (finish): the user's package and share are checked, the wallet row is stored
with the server's share sealed, and the server's package and the user's share are revealed.
Creation is not gated (as for EVM) and bounded per user by the same limits.
"""

from __future__ import annotations

import uuid
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.models import AuthContext
from actionmfa.domain.wallets import CeremonyKind, Chain, Stage
from actionmfa.errors import CeremonyInvalidError, WalletLimitError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.keygen import MAX_OPEN_KEYGENS_PER_USER, MAX_WALLETS_PER_USER
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.solana_shares import SolanaShares, solana_address
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost.transcript import dkg_context


class SolanaKeygen:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, vault: WalletVault, shares: SolanaShares) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault
        self.shares = shares

    def open_keygen(self, ctx: AuthContext) -> dict[str, Any]:
        now = self.clock.now()
        ceremony_id, wallet_id = str(uuid.uuid4()), str(uuid.uuid4())
        context = dkg_context(environment_id=ctx.environment.id, user_id=ctx.user.id, wallet_id=wallet_id,
                              ceremony_id=ceremony_id)
        message, state = fc.server_keygen_begin(context)
        with self.db.write() as uow:
            if len(uow.wallets.wallets_of(ctx.environment.id, ctx.user.id)) >= MAX_WALLETS_PER_USER:
                raise WalletLimitError(f"At most {MAX_WALLETS_PER_USER} wallets per user")
            if uow.wallets.open_keygens(ctx.user.id, now) >= MAX_OPEN_KEYGENS_PER_USER:
                raise WalletLimitError("Too many wallet creations in progress; finish or wait a minute")
            expires = self.vault.open_ceremony(
                uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=None, kind=CeremonyKind.KEYGEN,
                state={"chain": Chain.SOL.value, "walletId": wallet_id, "dkg": state}, now=now,
                payload_kind=Chain.SOL.value, purge=True,
            )
        return {"ceremonyId": ceremony_id, "walletId": wallet_id, "userId": ctx.user.id, "chain": Chain.SOL.value,
                "expiresAt": expires.isoformat(), "message": message}

    def finish_keygen(self, ctx: AuthContext, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as uow:
            row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.KEYGEN, Stage.OPENED, now)
            state = self.vault.open_state(row)
            if state.get("chain") != Chain.SOL.value:
                raise CeremonyInvalidError("Not a Solana key generation")
            wallet_id = str(state["walletId"])
            context = dkg_context(environment_id=ctx.environment.id, user_id=ctx.user.id, wallet_id=wallet_id,
                                  ceremony_id=ceremony_id)
            reply, share = fc.server_keygen_finish(state["dkg"], context, message)
            address = solana_address(share.group_public_key)
            uow.wallets.add_wallet(
                id=wallet_id, environment_id=ctx.environment.id, user_id=ctx.user.id, chain=Chain.SOL.value,
                address=address, public_key=share.group_public_key.hex(),
                server_share=self.shares.seal(wallet_id, share), key_version=1, lock_reason=None,
                lock_count=0, created_at=now, updated_at=now, locked_at=None,
            )
            # The conditional UPDATE is the guard: a second finish of the same ceremony rolls back.
            self.vault.finish(uow, ceremony_id, Stage.OPENED, now, wallet_id=wallet_id)
            audit.record(uow, ctx, AuditEvent.WALLET_CREATED, now=now, outcome="ok", walletId=wallet_id,
                         address=address, chain=Chain.SOL.value)
            wallet = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet_id)
        assert wallet is not None  # noqa: S101 - inserted above
        return {"wallet": WalletView.of(wallet).to_json(), "message": reply}
