"""Wallet creation (DESIGN §7): the two-party key generation of :mod:`actionmfa.wallet.ecdsa2p`.

Creation is not gated, so it is bounded per user (each opening consumes a pooled Paillier key that
costs seconds of prime search to replace), and the key pool is shared fairly
(:mod:`actionmfa.services.wallets.fairness`).
"""

from __future__ import annotations

import uuid
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.models import AuthContext
from actionmfa.domain.wallets import CeremonyKind, Chain, Stage
from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    WalletCreationBusyError,
    WalletLimitError,
    WalletProofInvalidError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.fairness import POOL_RESERVE, PRIORITY_WINDOW, CreationsInFlight
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import address_of, point_to_hex
from actionmfa.wallet.messages import ShareProofMessage

MAX_WALLETS_PER_USER = 20
MAX_OPEN_KEYGENS_PER_USER = 3


def _keygen_state(data: dict[str, Any]) -> tuple[str, p2.ServerKeygenState]:
    """The wallet id and the server's round state of an open creation. A ceremony opened by an
    earlier server version (a rolling deploy: no wallet id fixed at the opening, a bare Paillier key
    without its proofs) cannot be finished by this one: a clear 422 instead of a 500."""
    try:
        wallet_id = data["walletId"]
        if not isinstance(wallet_id, str):
            raise TypeError("walletId")
        return wallet_id, p2.ServerKeygenState.from_json(data)
    except (KeyError, TypeError, ValueError, WalletProofInvalidError):
        raise CeremonyInvalidError("This wallet creation was started by an earlier server version; "
                                   "start again") from None


class Keygen:
    def __init__(
        self,
        db: Transactions[WalletUnit],
        clock: Clock,
        vault: WalletVault,
        keys: PaillierKeys,
        in_flight: CreationsInFlight | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault
        self.keys = keys
        self.in_flight = in_flight or CreationsInFlight()

    def list_wallets(self, ctx: AuthContext) -> list[WalletView]:
        """``GET /waas/wallets``: the caller's wallets."""
        with self.db.read() as uow:
            return [WalletView.of(r) for r in uow.wallets.wallets_of(ctx.environment.id, ctx.user.id)]

    def open_keygen(self, ctx: AuthContext) -> dict[str, Any]:
        """``POST /waas/create``, round 1: the server commits to its public share. The Paillier key
        comes from the pool."""
        now = self.clock.now()
        with self.db.read() as uow:
            if len(uow.wallets.wallets_of(ctx.environment.id, ctx.user.id)) >= MAX_WALLETS_PER_USER:
                raise WalletLimitError(f"At most {MAX_WALLETS_PER_USER} wallets per user")
            if uow.wallets.open_keygens(ctx.user.id, now) >= MAX_OPEN_KEYGENS_PER_USER:
                raise WalletLimitError("Too many wallet creations in progress; finish or wait a minute")
            unfinished = uow.wallets.unfinished_keygens_since(ctx.user.id, now - PRIORITY_WINDOW)
        if unfinished:  # one open or abandoned lately: only a spare key, never the reserve, no waiting
            spare = self.keys.take_spare(POOL_RESERVE)
            if spare is None:
                raise WalletCreationBusyError("Finish the wallet creation in progress first; the key pool is low")
            prepared = spare
        else:
            with self.in_flight.slot(ctx.environment.id, ctx.user.id):
                prepared = self.keys.take()
        ceremony_id = str(uuid.uuid4())
        # The wallet id is fixed now so that every transcript of the ceremony is bound to it.
        wallet_id = str(uuid.uuid4())
        sid = p2.keygen_session_id(ceremony_id, ctx.environment.id, ctx.user.id, wallet_id=wallet_id)
        message, state = p2.server_keygen_begin(sid, prepared)
        try:
            with self.db.write() as uow:
                uow.wallets.serialize(f"ceremonies:{ctx.user.id}")  # the per-user count below is exact
                if uow.wallets.open_keygens(ctx.user.id, now) >= MAX_OPEN_KEYGENS_PER_USER:
                    raise WalletLimitError("Too many wallet creations in progress; finish or wait a minute")
                expires = self.vault.open_ceremony(
                    uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                    session_id=ctx.session.id, wallet_id=None, kind=CeremonyKind.KEYGEN,
                    state={"walletId": wallet_id, **state.to_json()}, now=now, purge=True,
                )
        except ActionMFAError:
            self.keys.put(prepared)  # never used: another wallet may have it
            raise
        return {"ceremonyId": ceremony_id, "userId": ctx.user.id, "walletId": wallet_id,
                "expiresAt": expires.isoformat(), "message": message.to_json()}

    def finish_keygen(self, ctx: AuthContext, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """``POST /waas/create/{ceremonyId}``, round 2: check the client's proof, store the new
        wallet, open the commitment. Repeated with the same message after the ceremony finished (an
        answer lost on the way), it answers the same again, from any session of the same user."""
        client_msg = p2.KeygenShare.from_json(message)
        with self.db.read() as uow:  # an unknown ceremony is refused before the costly Πprm check
            replayed = self.vault.replay_keygen(uow, ctx, ceremony_id, message)
            if replayed is not None:  # the same message, already checked and answered: answer again
                return replayed
            self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.KEYGEN, Stage.OPENED, self.clock.now())
        self.keys.check_ring(client_msg.ring)  # Πprm of the client's parameters, outside the transaction
        now = self.clock.now()
        with self.db.write() as uow:
            replayed = self.vault.replay_keygen(uow, ctx, ceremony_id, message)
            if replayed is not None:
                return replayed
            row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.KEYGEN, Stage.OPENED, now)
            wallet_id, state = _keygen_state(self.vault.open_state(row))
            opening, share = p2.server_keygen_finish(state, client_msg)
            address = address_of(share.public_key)
            uow.wallets.add_wallet(
                id=wallet_id, environment_id=ctx.environment.id, user_id=ctx.user.id, chain=Chain.EVM.value,
                address=address, public_key=point_to_hex(share.public_key),
                server_share=self.vault.seal_share(wallet_id, share), key_version=1, lock_reason=None,
                lock_count=0, created_at=now, updated_at=now, locked_at=None, key_ceremony_id=ceremony_id,
            )
            # The conditional UPDATE is the guard: a second finish of the same ceremony rolls back.
            self.vault.finish(uow, ceremony_id, Stage.OPENED, now, wallet_id=wallet_id,
                              state=self.vault.keygen_replay_state(message, opening.to_json()))
            audit.record(uow, ctx, AuditEvent.WALLET_CREATED, now=now, outcome="ok", walletId=wallet_id,
                         address=address, modulusBits=share.paillier.n.bit_length())
            wallet = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet_id)
        assert wallet is not None  # noqa: S101 - inserted above
        return {"wallet": WalletView.of(wallet).to_json(), "message": opening.to_json()}

    def abandon_keygen(self, ctx: AuthContext, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """``POST /waas/create/{ceremonyId}/abandon``: the SDK refused the server's opening (a proof
        failed, or the key is below its ``min_modulus_bits``) and holds no share, so the wallet the
        final round stored would be an orphan — listed, counted, never usable. Drop it, if the caller
        proves it holds this creation's ``x2`` (only the refusing device can), while the finished
        ceremony is still kept (its replay lifetime) and the wallet was never used or changed.
        Anything else: 422 ``ceremony_invalid``."""
        proof = ShareProofMessage.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            row = uow.wallets.finished_ceremony(ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                                                kind=CeremonyKind.KEYGEN)
            wallet = None if row is None or row.wallet_id is None else uow.wallets.wallet(
                ctx.environment.id, ctx.user.id, row.wallet_id, for_update=True)
            if (wallet is None or wallet.chain is not Chain.EVM or wallet.key_version != 1
                    or wallet.key_ceremony_id != ceremony_id or uow.wallets.wallet_used(wallet.id)):
                raise CeremonyInvalidError("Only a wallet just created and never used can be abandoned")
            p2.server_keygen_abandon(self.vault.open_share(wallet), wallet.id, ceremony_id, proof)
            uow.wallets.delete_wallet(wallet.id)
            audit.record(uow, ctx, AuditEvent.WALLET_CREATION_ABANDONED, now=now, outcome="ok", walletId=wallet.id,
                         ceremonyId=ceremony_id, address=wallet.address)
        return {"walletId": wallet.id, "abandoned": True}
