"""``client.wallets``: embedded two-party ECDSA wallets (DESIGN §5, §7).

The SDK is party P2: it generates and keeps the **user share** ``x2`` (never sent to the server),
stored encrypted in one file per user (:class:`ShareStore`). Every signature is a three-request
ceremony with the server, which runs the MFA gate when the ceremony opens; MFA and elevated
tokens the client holds are attached automatically. Results are eth-account's own types::

    wallet = client.wallets.create()
    wallet.address                                   # EIP-55
    wallet.sign_message("hello")                     # SignedMessage
    wallet.sign_transaction({...})                   # SignedTransaction (.raw_transaction)
    wallet.sign_authorization({"chainId": 1, ...})   # SignedSetCodeAuthorization
    wallet.export_private_key()                      # 64 hex characters, no 0x
    wallet.refresh()                                 # new shares, new server Paillier key, same address
    wallet.reshare(delegate=True)                    # 2-of-3 with the developer (delegated access)
    wallet.reshare(revoke_delegation=True)           # back to 2-of-2; the delegate's share is useless
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from eth_account.datastructures import SignedMessage, SignedSetCodeAuthorization, SignedTransaction

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import NotFoundError, WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.sdk.approve import PromptMode, open_with_prompt
from actionmfa.sdk.solana_shares import SolanaShareStore
from actionmfa.sdk.solana_wallets import SolanaWallet, create_solana_wallet
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import address_of
from actionmfa.wallet.delegation import seal_envelope, sub_share_plaintext
from actionmfa.wallet.export import (
    ExportEnvelope,
    combine_shares,
    export_info,
    generate_recipient_key,
    keystore_v3,
    open_share,
    recipient_public_key_b64,
)
from actionmfa.wallet.keyproofs import ClientRing
from actionmfa.wallet.paillier import PrecomputePool
from actionmfa.wallet.payloads import (
    PayloadKind,
    SignRequest,
    assemble,
    authorization_request,
    message_request,
    transaction_request,
    typed_data_request,
)
from actionmfa.wallet.refresh import (
    RefreshCommit,
    RefreshOpen,
    client_refresh_finish,
    client_refresh_respond,
    refresh_session_id,
)
from actionmfa.wallet.reshare import (
    ReshareOffer,
    ReshareOpen,
    ThresholdScheme,
    client_reshare_finish,
    client_reshare_respond,
    reshare_session_id,
)
from actionmfa.wallet.zk.sizes import MIN_MODULUS_BITS

if TYPE_CHECKING:
    from actionmfa.sdk.transport import Transport

__all__ = ["ShareStore", "Wallet", "WalletsResource"]

SIGN_SCOPE = "wallet:sign"
EXPORT_SCOPE = "wallet:export"
REFRESH_SCOPE = "wallet:refresh"
RESHARE_SCOPE = "wallet:reshare"
_RID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _default_share_dir() -> Path:
    return Path(os.environ.get("ACTIONMFA_WALLET_DIR") or Path.home() / ".actionmfa" / "wallets")


class ShareStore:
    """User shares on disk: one JSON file per (environment, user), each share AES-256-GCM sealed.

    With a passphrase the key is scrypt(passphrase, per-file salt); without one it is a random
    device key in ``<dir>/device.key`` (mode 0600). The AAD binds each blob to its wallet.
    """

    def __init__(self, directory: Path | str | None = None, *, passphrase: str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else _default_share_dir()
        self._passphrase = passphrase
        self._lock = threading.Lock()

    def _path(self, environment_id: str, user_id: str) -> Path:
        safe = [p for p in (environment_id, user_id) if p.replace("-", "").isalnum()]
        if len(safe) != 2:
            raise ValueError("unexpected id format")
        return self.directory / environment_id / f"{user_id}.json"

    def _device_key(self) -> bytes:
        path = self.directory / "device.key"
        if path.exists():
            return b64u_decode(path.read_text().strip())
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(b64u(key))
        return key

    def _key(self, doc: dict[str, Any]) -> bytes:
        if doc["kdf"] == "scrypt":
            if self._passphrase is None:
                raise WalletProofInvalidError("This share file needs a passphrase")
            return Scrypt(salt=b64u_decode(doc["salt"]), length=32, n=2**15, r=8, p=1).derive(self._passphrase.encode())
        return self._device_key()

    def _load(self, path: Path) -> dict[str, Any]:
        if path.exists():
            doc: dict[str, Any] = json.loads(path.read_text())
            return doc
        if self._passphrase is not None:
            return {"version": 1, "kdf": "scrypt", "salt": b64u(secrets.token_bytes(16)), "wallets": {}}
        return {"version": 1, "kdf": "device-key", "wallets": {}}

    def _write(self, path: Path, doc: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        os.replace(tmp, path)

    def save(self, environment_id: str, user_id: str, wallet_id: str, share: p2.ClientKeyShare, *,
             version: int = 1, pending: bool = False) -> None:
        """Store a share for a key version; ``pending`` keeps it beside the current one (refresh)."""
        path = self._path(environment_id, user_id)
        with self._lock:
            doc = self._load(path)
            key = self._key(doc)
            nonce = secrets.token_bytes(12)
            aad = f"{environment_id}:{user_id}:{wallet_id}:{version}".encode()
            ct = AESGCM(key).encrypt(nonce, json.dumps(share.to_json()).encode(), aad)
            slot = f"{wallet_id}#pending" if pending else wallet_id
            doc["wallets"][slot] = {"nonce": b64u(nonce), "ct": b64u(ct), "version": version}
            if not pending:
                doc["wallets"].pop(f"{wallet_id}#pending", None)
            self._write(path, doc)

    def load(self, environment_id: str, user_id: str, wallet_id: str, *,
             version: int | None = None) -> p2.ClientKeyShare | None:
        """The share for ``version`` (default: the current one). A pending share of that version —
        a refresh the server confirmed before this device could — is promoted to current."""
        path = self._path(environment_id, user_id)
        with self._lock:
            if not path.exists():
                return None
            doc = self._load(path)
            current = doc["wallets"].get(wallet_id)
            pending = doc["wallets"].get(f"{wallet_id}#pending")
            entry = current
            if version is not None and (current is None or current.get("version", 1) != version):
                entry = pending if pending is not None and pending.get("version") == version else None
            if entry is None:
                return None
            entry_version = int(entry.get("version", 1))
            aad = f"{environment_id}:{user_id}:{wallet_id}:{entry_version}".encode()
            try:
                plain = AESGCM(self._key(doc)).decrypt(b64u_decode(entry["nonce"]), b64u_decode(entry["ct"]), aad)
            except InvalidTag as exc:
                raise WalletProofInvalidError("User share could not be decrypted (wrong passphrase?)") from exc
            if entry is pending:
                doc["wallets"][wallet_id] = pending
                doc["wallets"].pop(f"{wallet_id}#pending")
                self._write(path, doc)
        return p2.ClientKeyShare.from_json(json.loads(plain))


class Wallet:
    """One embedded wallet; signing methods return eth-account's result types."""

    def __init__(self, resource: WalletsResource, data: Mapping[str, Any]) -> None:
        self._r = resource
        self.id: str = str(data["id"])
        self.address: str = str(data["address"])
        self.chain: str = str(data.get("chain", "EVM"))
        self.locked: bool = bool(data.get("locked", False))
        self.key_version: int = int(data.get("keyVersion", 1))
        self.threshold_scheme: str = str(data.get("thresholdSignatureScheme", "TWO_OF_TWO"))
        self._share: p2.ClientKeyShare | None = None

    def __repr__(self) -> str:
        return f"Wallet(id={self.id!r}, address={self.address!r})"

    # -- local share ---------------------------------------------------------------------------
    def _client_share(self) -> p2.ClientKeyShare:
        if self._share is None:
            share = self._r.load_share(self.id, version=self.key_version)
            if share is None:
                raise NotFoundError("No user share for this wallet on this device")
            if address_of(share.public_key) != self.address:
                raise WalletProofInvalidError("Stored user share does not match the wallet address")
            self._share = share
        return self._share

    def precompute(self, count: int = 8, *, background: bool = False) -> None:
        """Precompute the witness-free part of ``count`` signatures now — the Paillier randomness
        and the Πaff-g commitments, the costly part of a signing round's client side."""
        pool = self._randomness()
        pool.target = max(pool.target, count)
        if background:
            pool.start_background()
        else:
            pool.fill(count)

    def _randomness(self) -> PrecomputePool[p2.SignPrecompute]:
        return self._r.randomness_pool(self.id, self._client_share())

    # -- signing ----------------------------------------------------------------------------------
    def sign_message(self, message: str | bytes, *, prompt: PromptMode = None) -> SignedMessage:
        """EIP-191 ``personal_sign`` of text or bytes. ``prompt="terminal"|"browser"``: when MFA is
        required, show the approval prompt for this payload and retry (:mod:`actionmfa.sdk.approve`)."""
        result = self._sign(message_request(message), prompt)
        assert isinstance(result, SignedMessage)  # noqa: S101
        return result

    def sign_typed_data(self, full_message: Mapping[str, Any], *, prompt: PromptMode = None) -> SignedMessage:
        """EIP-712 typed data (the full message with ``types``, ``domain``, ``primaryType``, ``message``)."""
        result = self._sign(typed_data_request(full_message), prompt)
        assert isinstance(result, SignedMessage)  # noqa: S101
        return result

    def sign_transaction(self, tx: Mapping[str, Any], *, prompt: PromptMode = None) -> SignedTransaction:
        """An EIP-1559 (type 2) or EIP-7702 (type 4) transaction; ``.raw_transaction`` is ready to send."""
        result = self._sign(transaction_request(tx), prompt)
        assert isinstance(result, SignedTransaction)  # noqa: S101
        return result

    def sign_authorization(
        self, authorization: Mapping[str, Any], *, prompt: PromptMode = None
    ) -> SignedSetCodeAuthorization:
        """An EIP-7702 authorization ``{chainId, address, nonce}``."""
        result = self._sign(authorization_request(authorization), prompt)
        assert isinstance(result, SignedSetCodeAuthorization)  # noqa: S101
        return result

    def _sign(
        self, request: SignRequest, prompt: PromptMode = None
    ) -> SignedMessage | SignedTransaction | SignedSetCodeAuthorization:
        digest = request.digest()
        body: dict[str, Any] = request.to_json()
        c = self._r.client
        opened = open_with_prompt(c, prompt, lambda: c.request(
            "POST", f"/waas/{self.id}/signMessage", json=body, scope=SIGN_SCOPE, include_mfa_token=True
        ), payload=request)
        # Refuse to take part if the server is about to sign anything other than what we asked for.
        if opened.get("digest") != "0x" + digest.hex():
            raise WalletProofInvalidError("Server digest differs from the payload's")
        version = int(opened.get("keyVersion", self.key_version))
        if version != self.key_version:  # refreshed elsewhere since this object loaded its share
            self.key_version, self._share = version, None
        share = self._client_share()
        body["keyVersion"] = self.key_version
        ceremony_id = str(opened["ceremonyId"])
        sid = p2.sign_session_id(self.id, ceremony_id, digest, key_version=self.key_version)
        nonce_msg, state = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
        base = f"/waas/{self.id}/signMessage/{ceremony_id}"
        revealed = c.request("POST", f"{base}/nonce", json={**body, "message": nonce_msg.to_json()})
        partial = p2.client_sign_finish(share, state, p2.SignReveal.from_json(revealed["message"]),
                                        precomputed=self._randomness().take_item())
        done = c.request("POST", f"{base}/complete", json={**body, "message": partial.to_json()})
        sig = p2.Signature.from_json(done["signature"])
        if not p2.verify_signature(share.public_key, digest, sig):
            raise WalletSignatureInvalidError("Server returned a signature that does not verify")
        result = assemble(request, sig)
        if (
            request.kind is PayloadKind.TRANSACTION
            and isinstance(result, SignedTransaction)
            and done.get("signedTransaction") != "0x" + bytes(result.raw_transaction).hex()
        ):
            raise WalletSignatureInvalidError("Server's signed transaction differs from the local one")
        return result

    # -- refresh --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-randomise both shares (coin toss) and move the server to a new Paillier key; the
        address is unchanged. Gate ``wallet.waas.refresh`` (scope ``wallet:refresh``). The new share
        is written as *pending* before the server switches, so a crash in between loses nothing."""
        share = self._client_share()
        c, base = self._r.client, f"/waas/{self.id}/refresh"
        opened = c.request("POST", base, json={}, scope=REFRESH_SCOPE, include_mfa_token=True)
        ceremony_id, version = str(opened["ceremonyId"]), int(opened["keyVersion"])
        sid = refresh_session_id(self.id, ceremony_id, version)
        contribution, state = client_refresh_respond(sid, RefreshCommit.from_json(opened["message"]), self._r.ring())
        done = c.request("POST", f"{base}/{ceremony_id}", json={"message": contribution.to_json()})
        new_share, confirm = client_refresh_finish(share, state, RefreshOpen.from_json(done["message"]),
                                                   min_modulus_bits=self._r.min_modulus_bits)
        env_id, user_id = c.environment_id, self._r.user_id()
        self._r.store.save(env_id, user_id, self.id, new_share, version=version + 1, pending=True)
        confirmed = c.request("POST", f"{base}/{ceremony_id}/confirm", json={"message": confirm.to_json()})
        self.key_version = int(confirmed["wallet"]["keyVersion"])
        self._r.store.save(env_id, user_id, self.id, new_share, version=self.key_version)
        self._share = new_share  # (pools are per modulus: the old one is simply no longer used)

    # -- reshare --------------------------------------------------------------------------------------
    def reshare(self, *, delegate: bool = False, revoke_delegation: bool = False) -> dict[str, Any]:
        """Move the key to 2-of-3 with the environment's delegate (``delegate=True``: delegated access)
        or back to 2-of-2 (``revoke_delegation=True``); same address. Gate ``wallet.waas.reshare``
        (scope ``wallet:reshare``). The delegate's sub-share of this device's share is sealed here to
        the developer's RSA key, so the server never sees it. Returns the server's ``delegation``
        delivery report (``{event, delivered}``) when there is one."""
        if delegate == revoke_delegation:
            raise ValueError("pass exactly one of delegate=True or revoke_delegation=True")
        old, new = (("TWO_OF_TWO", "TWO_OF_THREE") if delegate else ("TWO_OF_THREE", "TWO_OF_TWO"))
        share = self._client_share()
        c, base = self._r.client, f"/waas/{self.id}/reshare"
        body = {"oldThresholdSignatureScheme": old, "newThresholdSignatureScheme": new,
                "delegateToProjectEnvironment": delegate, "revokeDelegation": revoke_delegation}
        opened = c.request("POST", base, json=body, scope=RESHARE_SCOPE, include_mfa_token=True)
        ceremony_id, version = str(opened["ceremonyId"]), int(opened["keyVersion"])
        if version != self.key_version:
            raise WalletProofInvalidError("The wallet changed on another device; reload it and retry")
        offer = ReshareOffer.from_json(opened["message"])
        if offer.scheme is not ThresholdScheme(new):
            raise WalletProofInvalidError("Server offered another threshold scheme")
        pem = opened.get("delegatePublicKeyPem")

        def seal(value: int) -> dict[str, str]:
            if not isinstance(pem, str):
                raise WalletProofInvalidError("No delegate key to seal the delegated share to")
            return seal_envelope(pem, sub_share_plaintext(self.id, version + 1, "user", value))

        sid = reshare_session_id(self.id, ceremony_id, version, offer.scheme)
        dealing, state = client_reshare_respond(sid, share, offer, self._r.ring(),
                                                seal_for_delegate=seal if delegate else None)
        opened2 = c.request("POST", f"{base}/{ceremony_id}", json={"message": dealing.to_json()})
        new_share, confirm = client_reshare_finish(share, state, ReshareOpen.from_json(opened2["message"]),
                                                   min_modulus_bits=self._r.min_modulus_bits)
        env_id, user_id = c.environment_id, self._r.user_id()
        self._r.store.save(env_id, user_id, self.id, new_share, version=version + 1, pending=True)
        done = c.request("POST", f"{base}/{ceremony_id}/confirm", json={"message": confirm.to_json()})
        self.key_version = int(done["wallet"]["keyVersion"])
        self.threshold_scheme = str(done["wallet"].get("thresholdSignatureScheme", new))
        self._r.store.save(env_id, user_id, self.id, new_share, version=self.key_version)
        self._share = new_share
        report = done.get("delegation")
        return dict(report) if isinstance(report, dict) else {}

    # -- export ---------------------------------------------------------------------------------------
    @overload
    def export_private_key(self, *, prompt: PromptMode = None) -> str: ...

    @overload
    def export_private_key(self, *, password: str, prompt: PromptMode = None) -> dict[str, Any]: ...

    @overload
    def export_private_key(self, *, password: str | None, prompt: PromptMode = None) -> str | dict[str, Any]: ...

    def export_private_key(self, *, password: str | None = None, prompt: PromptMode = None) -> str | dict[str, Any]:
        """The full private key as 64 hex characters without ``0x`` — or, with ``password``, a v3
        keystore dict. The server's share arrives HPKE-sealed to a one-time key; the key is
        assembled here and checked against the address."""
        self._client_share()  # fail before spending a token if this device has no share
        recipient = generate_recipient_key()
        request_id = "".join(secrets.choice(_RID_ALPHABET) for _ in range(32))
        body = {"recipientPublicKey": recipient_public_key_b64(recipient), "encryptionType": "HPKE"}
        c = self._r.client
        response = open_with_prompt(c, prompt, lambda: c.request(
            "POST", f"/waas/{self.id}/privateKey/export", json=body, scope=EXPORT_SCOPE,
            include_mfa_token=True, headers={"x-dyn-request-id": request_id},
        ), action="wallet.waas.export")
        if response.get("requestId") != request_id or response.get("walletId") != self.id:
            raise WalletProofInvalidError("Export response is for another request")
        info = export_info(self.id, request_id, str(response.get("tokenId")))
        x1 = open_share(ExportEnvelope.from_json(response), recipient, info)
        version = int(response.get("keyVersion", self.key_version))
        if version != self.key_version:  # refreshed elsewhere: the server share matches the newer one
            self.key_version, self._share = version, None
        share = self._client_share()
        key_hex = combine_shares(x1, share.x2, self.address)
        if password is not None:
            return keystore_v3(key_hex, password)
        return key_hex


class WalletsResource:
    """``client.wallets``. Configure where user shares live with :meth:`configure`."""

    def __init__(self, client: Transport) -> None:
        self.client = client
        self.store = ShareStore()
        self.solana_store = SolanaShareStore(self.store.directory)
        self.min_modulus_bits = MIN_MODULUS_BITS
        self.precompute = 4
        self._pools: dict[tuple[str, int], PrecomputePool[p2.SignPrecompute]] = {}
        self._pools_lock = threading.Lock()
        self._ring: ClientRing | None = None
        self._ring_lock = threading.Lock()

    def ring(self) -> ClientRing:
        """This client's ring-Pedersen parameters with their Πprm, made once (about a second) and
        sent in round 2 of every key ceremony: the server proves its Paillier key (Πfac) and the
        encrypted share (Πlog*) against them."""
        with self._ring_lock:
            if self._ring is None:
                self._ring, _ = ClientRing.create()
            return self._ring

    def configure(self, *, share_dir: Path | str | None = None, passphrase: str | None = None,
                  min_modulus_bits: int | None = None, precompute: int | None = None,
                  ring: ClientRing | None = None) -> WalletsResource:
        """``precompute``: Paillier randomness values kept ready per wallet by a background thread
        (0 disables it; each value saves ~9 ms of a signature's client-side work). ``min_modulus_bits``
        can raise the 2048-bit floor, never lower it. ``ring``: ring-Pedersen parameters made earlier
        with :meth:`ClientRing.create` (otherwise made on first use)."""
        if ring is not None:
            with self._ring_lock:
                self._ring = ring
        if share_dir is not None or passphrase is not None:
            self.store = ShareStore(share_dir if share_dir is not None else self.store.directory,
                                    passphrase=passphrase)
            self.solana_store = SolanaShareStore(self.store.directory, passphrase=passphrase)
        if min_modulus_bits is not None:
            if min_modulus_bits < MIN_MODULUS_BITS:  # a floor: the proofs' parameters need it
                raise ValueError(f"min_modulus_bits cannot be below {MIN_MODULUS_BITS}")
            self.min_modulus_bits = min_modulus_bits
        if precompute is not None:
            self.precompute = precompute
        return self

    def randomness_pool(self, wallet_id: str, share: p2.ClientKeyShare) -> PrecomputePool[p2.SignPrecompute]:
        """One pool per (wallet, server modulus), shared by every ``Wallet`` object of that wallet."""
        key = (wallet_id, share.paillier.n)
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                for old_key in [k for k in self._pools if k[0] == wallet_id]:  # modulus changed: refresh
                    self._pools.pop(old_key).stop()
                pool = PrecomputePool(lambda: p2.sign_precompute(share), target=max(self.precompute, 1))
                if self.precompute > 0:
                    pool.start_background()
                self._pools[key] = pool
            return pool

    def close(self) -> None:
        """Stop the background precomputation threads."""
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.stop()

    def user_id(self) -> str:
        user = self.client.session.user
        if not user or "id" not in user:
            user = self.client.request("GET", "/users")
            self.client.session.user = user
        return str(user["id"])

    def load_share(self, wallet_id: str, *, version: int | None = None) -> p2.ClientKeyShare | None:
        return self.store.load(self.client.environment_id, self.user_id(), wallet_id, version=version)

    @overload
    def create(self, *, chain: Literal["EVM"] = "EVM") -> Wallet: ...

    @overload
    def create(self, *, chain: Literal["SOL"]) -> SolanaWallet: ...

    def create(self, *, chain: str = "EVM") -> Wallet | SolanaWallet:
        """Run two-party key generation (``chain="SOL"``: FROST, :mod:`actionmfa.sdk.solana_wallets`);
        the user share is written to the share store."""
        if chain == "SOL":
            return create_solana_wallet(self.client, self.solana_store)
        if chain != "EVM":
            raise ValueError("chain must be 'EVM' or 'SOL'")
        opened = self.client.request("POST", "/waas/create", json={"chain": "EVM"})
        ceremony_id = str(opened["ceremonyId"])
        user_id, wallet_id = str(opened["userId"]), str(opened["walletId"])
        sid = p2.keygen_session_id(ceremony_id, self.client.environment_id, user_id, wallet_id=wallet_id)
        share_msg, state = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(opened["message"]), self.ring())
        done = self.client.request("POST", f"/waas/create/{ceremony_id}", json={"message": share_msg.to_json()})
        share = p2.client_keygen_finish(state, p2.KeygenOpen.from_json(done["message"]),
                                        min_modulus_bits=self.min_modulus_bits)
        wallet = Wallet(self, done["wallet"])
        if wallet.id != wallet_id:
            raise WalletProofInvalidError("Server finished another wallet than it opened")
        if address_of(share.public_key) != wallet.address:
            raise WalletProofInvalidError("Server reported another address than the joint key's")
        self.store.save(self.client.environment_id, user_id, wallet.id, share)
        wallet._share = share
        return wallet

    def _wallet(self, data: Mapping[str, Any]) -> Wallet | SolanaWallet:
        if data.get("chain") == "SOL":
            return SolanaWallet(self.client, self.solana_store, self.user_id, data)
        return Wallet(self, data)

    def list(self) -> list[Wallet | SolanaWallet]:
        body = self.client.request("GET", "/waas/wallets")
        return [self._wallet(w) for w in body["wallets"]]

    def get(self, wallet_id: str) -> Wallet | SolanaWallet:
        for wallet in self.list():
            if wallet.id == wallet_id:
                return wallet
        raise NotFoundError("Wallet not found")
