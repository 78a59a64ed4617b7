"""Solana wallets in the SDK: the user's party of two-party FROST(Ed25519, SHA-512) (RFC 9591).

``client.wallets.create(chain="SOL")`` returns a :class:`SolanaWallet`; its results are ``solders``
types, so a solana-py user sends them as they are::

    wallet = client.wallets.create(chain="SOL")
    wallet.address                          # base58
    wallet.sign_transaction(tx)             # signed solders VersionedTransaction
    wallet.sign_message(b"hello")           # solders Signature
    wallet.export_private_key()             # base58 of the 64-byte scalar ‖ public key (docs/wallets.md)
    wallet.refresh()                        # new shares of the same key; the old ones are useless

The user share (identifier 1) never leaves this process unsealed. Every signature is a two-request
ceremony: the server runs the gate and commits to its nonces; this side draws fresh nonces, signs
its share against the message it built (not against anything the server says), and checks the
aggregate signature with solders before returning it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from actionmfa.errors import NotFoundError, WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.sdk.solana_shares import SolanaShareStore
from actionmfa.wallet.export import ExportEnvelope, export_info, generate_recipient_key, recipient_public_key_b64
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost.keys import KeyShare
from actionmfa.wallet.frost.transcript import dkg_context, refresh_context
from actionmfa.wallet.solana.export import combine_exported, open_server_share
from actionmfa.wallet.solana.payloads import SolanaSignRequest, message_request, transaction_request

if TYPE_CHECKING:
    from actionmfa.sdk.transport import Transport

__all__ = ["SolanaWallet", "create_solana_wallet"]

SIGN_SCOPE = "wallet:sign"
EXPORT_SCOPE = "wallet:export"
REFRESH_SCOPE = "wallet:refresh"


def _address(share: KeyShare) -> str:
    return str(Pubkey.from_bytes(share.group_public_key))


class SolanaWallet:
    """One embedded Solana wallet."""

    def __init__(self, client: Transport, store: SolanaShareStore, user_id: Callable[[], str],
                 data: Mapping[str, Any]) -> None:
        self._client = client
        self._store = store
        self._user_id = user_id
        self.id: str = str(data["id"])
        self.address: str = str(data["address"])
        self.chain: str = "SOL"
        self.locked: bool = bool(data.get("locked", False))
        self.key_version: int = int(data.get("keyVersion", 1))
        self.threshold_scheme: str = str(data.get("thresholdSignatureScheme", "TWO_OF_TWO"))
        self._share: KeyShare | None = None

    def __repr__(self) -> str:
        return f"SolanaWallet(id={self.id!r}, address={self.address!r})"

    @property
    def pubkey(self) -> Pubkey:
        return Pubkey.from_string(self.address)

    def _user_share(self) -> KeyShare:
        if self._share is None:
            share = self._store.load(self._client.environment_id, self._user_id(), self.id, version=self.key_version)
            if share is None:
                raise NotFoundError("No user share for this wallet on this device")
            if _address(share) != self.address:
                raise WalletProofInvalidError("Stored user share does not match the wallet address")
            self._share = share
        return self._share

    # -- signing ----------------------------------------------------------------------------------
    def sign_message(self, message: str | bytes) -> Signature:
        """An off-chain message (bytes, or text as UTF-8); bytes that form a transaction are refused."""
        request = message_request(message)
        return self._sign(request)[0]

    def sign_transaction(self, tx: VersionedTransaction | Transaction | Message | MessageV0) -> VersionedTransaction:
        """A legacy or v0 transaction (or its message), built with solders; returns it signed as a
        ``VersionedTransaction`` — other signers' signatures already present are kept."""
        existing: list[Signature] = []
        message: Message | MessageV0
        if isinstance(tx, VersionedTransaction):
            if not isinstance(tx.message, Message | MessageV0):
                raise WalletProofInvalidError("Only legacy and v0 messages can be signed")
            message = tx.message
            existing = list(tx.signatures)
        elif isinstance(tx, Transaction):
            message, existing = tx.message, list(tx.signatures)
        else:
            message = tx
        request = transaction_request(message)
        sig, index = self._sign(request)
        count = message.header.num_required_signatures
        signatures = existing if len(existing) == count else [Signature.default()] * count
        signatures[index] = sig
        return VersionedTransaction.populate(message, signatures)

    def _sign(self, request: SolanaSignRequest) -> tuple[Signature, int]:
        share = self._user_share()
        body: dict[str, Any] = request.to_json()
        c = self._client
        opened = c.request("POST", f"/waas/{self.id}/signMessage", json=body, scope=SIGN_SCOPE,
                           include_mfa_token=True)
        if opened.get("digest") != "0x" + request.digest().hex():
            raise WalletProofInvalidError("Server digest differs from the payload's")
        if int(opened.get("keyVersion", self.key_version)) != self.key_version:
            raise WalletProofInvalidError("The wallet was refreshed on another device; reload it and retry")
        index = request.require_signer(self.address)
        if int(opened.get("signerIndex", index)) != index:
            raise WalletProofInvalidError("Server placed the signature in another slot")
        # Fresh nonces for this ceremony only, spent inside client_sign (never stored, never reused).
        message, _ = fc.client_sign(share, request.message, opened["message"])
        ceremony_id = str(opened["ceremonyId"])
        done = c.request("POST", f"/waas/{self.id}/signMessage/{ceremony_id}/complete",
                         json={**body, "message": message, "keyVersion": self.key_version})
        sig = Signature.from_string(str(done["signature"]))
        if not sig.verify(self.pubkey, request.message):
            raise WalletSignatureInvalidError("Server returned a signature that does not verify")
        return sig, index


    # -- export and refresh -----------------------------------------------------------------------
    def export_private_key(self) -> str:
        """base58 of the 64 bytes scalar ‖ public key (gate ``wallet.waas.export``). Not a seed-based
        keypair: see :mod:`actionmfa.wallet.solana.export` for what can use it."""
        share = self._user_share()
        recipient = generate_recipient_key()
        request_id = secrets.token_urlsafe(24)
        body = {"recipientPublicKey": recipient_public_key_b64(recipient), "encryptionType": "HPKE"}
        response = self._client.request("POST", f"/waas/{self.id}/privateKey/export", json=body, scope=EXPORT_SCOPE,
                                        include_mfa_token=True, headers={"x-dyn-request-id": request_id})
        if response.get("requestId") != request_id or response.get("walletId") != self.id:
            raise WalletProofInvalidError("Export response is for another request")
        if int(response.get("keyVersion", self.key_version)) != self.key_version:
            raise WalletProofInvalidError("The wallet was refreshed on another device; reload it and retry")
        info = export_info(self.id, request_id, str(response.get("tokenId")))
        server_secret = open_server_share(ExportEnvelope.from_json(response), recipient, info)
        return combine_exported(share, server_secret)

    def refresh(self) -> None:
        """New shares of the same key (gate ``wallet.waas.refresh``); the new user share is stored as
        pending before the server switches, so a crash in between loses nothing."""
        share = self._user_share()
        c, base = self._client, f"/waas/{self.id}/refresh"
        opened = c.request("POST", base, json={}, scope=REFRESH_SCOPE, include_mfa_token=True)
        ceremony_id, version = str(opened["ceremonyId"]), int(opened["keyVersion"])
        if version != self.key_version:
            raise WalletProofInvalidError("The wallet was refreshed on another device; reload it and retry")
        context = refresh_context(wallet_id=self.id, ceremony_id=ceremony_id, key_version=version)
        state, message = fc.client_refresh_begin(context, opened["message"])
        done = c.request("POST", f"{base}/{ceremony_id}", json={"message": message})
        new_share = fc.client_refresh_finish(share, state, context, done["message"])
        env_id, user_id = c.environment_id, self._user_id()
        self._store.save(env_id, user_id, self.id, new_share, version=version + 1, pending=True)
        confirmed = c.request("POST", f"{base}/{ceremony_id}/confirm",
                              json={"message": fc.refresh_confirmation(new_share, context)})
        self.key_version = int(confirmed["wallet"]["keyVersion"])
        self._store.save(env_id, user_id, self.id, new_share, version=self.key_version)
        self._share = new_share


def _finish(client: Transport, ceremony_id: str, message: dict[str, Any], attempts: int = 3) -> Any:
    """The second creation request, resent as is when its answer is lost: the server answers a
    repeated message with the same wallet and reply (it is idempotent while the ceremony lives)."""
    for attempt in range(attempts):
        try:
            return client.request("POST", f"/waas/create/{ceremony_id}", json={"message": message})
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def create_solana_wallet(client: Transport, store: SolanaShareStore) -> SolanaWallet:
    """Run the FROST key generation with the server; the user share is written to the store."""
    opened = client.request("POST", "/waas/create", json={"chain": "SOL"})
    ceremony_id, wallet_id, user_id = str(opened["ceremonyId"]), str(opened["walletId"]), str(opened["userId"])
    context = dkg_context(environment_id=client.environment_id, user_id=user_id, wallet_id=wallet_id,
                          ceremony_id=ceremony_id)
    state, message = fc.client_keygen_begin(context, opened["message"])
    done = _finish(client, ceremony_id, message)
    data = done["wallet"]
    if str(data.get("id")) != wallet_id:
        raise WalletProofInvalidError("Server created another wallet than it announced")
    try:
        expected = bytes.fromhex(str(data.get("publicKey")))
    except ValueError as exc:
        raise WalletProofInvalidError("Malformed wallet public key") from exc
    share = fc.client_keygen_finish(state, context, done["message"], expected)
    if _address(share) != data.get("address"):
        raise WalletProofInvalidError("Server reported another address than the joint key's")
    store.save(client.environment_id, user_id, wallet_id, share)
    wallet = SolanaWallet(client, store, lambda: user_id, data)
    wallet._share = share
    return wallet
