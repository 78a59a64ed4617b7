"""Solana wallet creation (``POST /waas/create {chain: "SOL"}``): the FROST paper's KeyGen between
the SDK (identifier 1) and the server (identifier 2), :mod:`actionmfa.wallet.frost.ceremony`.

Round 1 (open): the server draws its polynomial and answers with a hash of its round-one package;
the wallet id is fixed here so that every proof of knowledge is bound to environment, user, wallet
and ceremony. Round 2 (finish): the user's package and share are checked, the wallet row is stored
with the server's share sealed, and the server's package and the user's share are revealed.
Creation is not gated (as for EVM) and bounded per user by the same limits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.models import AuthContext
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Chain, Stage
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
        """Round 2. Idempotent while the ceremony lives: the same user message again (its answer was
        lost) gets the same answer, so a retry never leaves a server-side wallet the device cannot use."""
        now = self.clock.now()
        digest = _message_digest(message)
        with self.db.write() as uow:
            replay = self._replay(uow, ctx, ceremony_id, digest, now)
            if replay is not None:
                return replay
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
            # The conditional UPDATE is the guard: a second finish of the same ceremony rolls back. The
            # answer stays sealed on the row until the ceremony expires, for a retry of a lost answer
            # (it holds f_2(1), which the server knows anyway).
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.DONE, now, outcome=CeremonyOutcome.OK,
                               wallet_id=wallet_id,
                               state={"chain": Chain.SOL.value, "walletId": wallet_id, "answered": digest,
                                      "reply": reply})
            audit.record(uow, ctx, AuditEvent.WALLET_CREATED, now=now, outcome="ok", walletId=wallet_id,
                         address=address, chain=Chain.SOL.value)
            wallet = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet_id)
        assert wallet is not None  # noqa: S101 - inserted above
        return {"wallet": WalletView.of(wallet).to_json(), "message": reply}

    def _replay(self, uow: WalletUnit, ctx: AuthContext, ceremony_id: str, digest: str,
                now: datetime) -> dict[str, Any] | None:
        row = uow.wallets.ceremony(ceremony_id, environment_id=ctx.environment.id, session_id=ctx.session.id,
                                   kind=CeremonyKind.KEYGEN)
        if (row is None or row.user_id != ctx.user.id or row.stage != Stage.DONE
                or row.outcome != CeremonyOutcome.OK or row.expires_at <= now or not row.state):
            return None
        done = self.vault.open_state(row)
        answered = done.get("answered")
        if done.get("chain") != Chain.SOL.value or not isinstance(answered, str):
            return None
        if not hmac.compare_digest(answered, digest):
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        wallet = uow.wallets.wallet(ctx.environment.id, ctx.user.id, str(done["walletId"]))
        if wallet is None:
            return None
        return {"wallet": WalletView.of(wallet).to_json(), "message": done["reply"]}


def _message_digest(message: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(message, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
