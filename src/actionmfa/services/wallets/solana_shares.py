"""The server's FROST key share of a Solana wallet, sealed like an EVM share, and wallet lookups.

The share is a Keyring blob in ``waas_wallets.server_share`` with the AAD ``waas-wallet:<wallet id>``
(:func:`vault.share_aad`), so key rotation re-seals it with the other shares and a blob copied to
another row does not open. Its JSON is :meth:`actionmfa.wallet.frost.keys.KeyShare.to_json`.
"""

from __future__ import annotations

import json

from solders.pubkey import Pubkey

from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import WalletRow
from actionmfa.domain.wallets import CeremonyKind, Chain
from actionmfa.errors import NotFoundError, WalletChainUnsupportedError, WalletProofInvalidError
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault, share_aad
from actionmfa.wallet.frost.group import GroupError
from actionmfa.wallet.frost.keys import KeyShare

__all__ = ["RESHARE_UNSUPPORTED", "SolanaShares", "solana_address"]

RESHARE_UNSUPPORTED = (
    "Reshare and delegated access are not supported for Solana wallets yet: their FROST key is "
    "2-of-2 between the user's device and the server, with no delegate share to move it to"
)


def solana_address(group_public_key: bytes) -> str:
    """The wallet's address: base58 of the 32-byte Ed25519 public key."""
    return str(Pubkey.from_bytes(group_public_key))


class SolanaShares:
    def __init__(self, db: Transactions[WalletUnit], vault: WalletVault) -> None:
        self.db = db
        self.vault = vault

    def seal(self, wallet_id: str, share: KeyShare) -> str:
        return self.vault.keyring.encrypt(json.dumps(share.to_json(), separators=(",", ":")).encode(),
                                          aad=share_aad(wallet_id))

    def open(self, row: WalletRow) -> KeyShare:
        data = json.loads(self.vault.keyring.decrypt(row.server_share, aad=share_aad(row.id)))
        try:
            share = KeyShare.from_json(data)
        except GroupError as exc:  # a stored share that does not parse is corruption, not bad input
            raise WalletProofInvalidError("Stored wallet share is unusable") from exc
        if solana_address(share.group_public_key) != row.address:
            raise WalletProofInvalidError("Stored wallet share does not match the address")
        return share

    def wallet(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, *, for_update: bool = False) -> WalletRow:
        return self.vault.wallet(uow, ctx, wallet_id, for_update=for_update, chain=Chain.SOL)

    def chain_of(self, ctx: AuthContext, wallet_id: str) -> Chain:
        """Which chain's protocol a route should run for this wallet (404 if it is not the caller's)."""
        with self.db.read() as uow:
            row = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet_id)
        if row is None:
            raise NotFoundError("Wallet not found")
        return row.chain

    def refuse_reshare(self, ctx: AuthContext, wallet_id: str) -> None:
        """422 ``wallet_chain_unsupported`` with the reason, for a Solana wallet's reshare."""
        if self.chain_of(ctx, wallet_id) is Chain.SOL:
            raise WalletChainUnsupportedError(RESHARE_UNSUPPORTED)

    def ceremony_chain(self, ctx: AuthContext, ceremony_id: str, kind: CeremonyKind) -> Chain:
        """The chain a ceremony of the caller's session runs for (Solana key generations are marked
        in ``payload_kind``); an unknown ceremony is left to the chain's own service to refuse."""
        with self.db.read() as uow:
            row = uow.wallets.ceremony(ceremony_id, environment_id=ctx.environment.id, session_id=ctx.session.id,
                                       kind=kind)
        return Chain.SOL if row is not None and row.payload_kind == Chain.SOL.value else Chain.EVM
