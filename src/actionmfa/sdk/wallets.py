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

import builtins
import contextlib
import secrets
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx
from eth_account.datastructures import SignedMessage, SignedSetCodeAuthorization, SignedTransaction

from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    MfaRequiredError,
    NotFoundError,
    WalletProofInvalidError,
    WalletSignatureInvalidError,
)
from actionmfa.sdk.approve import PromptMode, open_with_prompt
from actionmfa.sdk.share_store import ShareStore
from actionmfa.sdk.solana_shares import SolanaShareStore
from actionmfa.sdk.solana_wallets import SolanaWallet, create_solana_wallet
from actionmfa.sdk.users import SdkUser
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
from actionmfa.wallet.pregenerated import claim_info, open_standin
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
_T = TypeVar("_T")


def answer_lost(exc: BaseException) -> bool:
    """True when a request may have been processed although its answer never arrived: a transport
    failure, or a 5xx from something between us and the server."""
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, ActionMFAError) and exc.status_code >= 500


def _settling(attempt: Callable[[], _T], settle: Callable[[], _T | None]) -> _T:
    """Run ``attempt``; if its answer was lost, ask the server where things stand (``settle``) and
    return what it finds, else re-raise the original error (the write-ahead entries stay)."""
    try:
        return attempt()
    except Exception as exc:
        if not answer_lost(exc):
            raise
        try:
            settled = settle()
        except Exception:
            raise exc from None
        if settled is None:
            raise
        return settled


class Wallet:
    """One embedded wallet; signing methods return eth-account's result types."""

    def __init__(self, resource: WalletsResource, data: Mapping[str, Any], *,
                 share: p2.ClientKeyShare | None = None) -> None:
        self._r = resource
        self.id: str = str(data["id"])
        self.address: str = str(data["address"])
        self.chain: str = str(data.get("chain", "EVM"))
        self._share: p2.ClientKeyShare | None = None
        self._update(data)
        self._share = share

    def _update(self, data: Mapping[str, Any]) -> None:
        self.locked = bool(data.get("locked", False))
        version = int(data.get("keyVersion", 1))
        if self._share is not None and version != getattr(self, "key_version", version):
            self._share = None
        self.key_version = version
        ceremony = data.get("keyCeremonyId")
        self.key_ceremony_id: str | None = str(ceremony) if ceremony is not None else None
        self.threshold_scheme = str(data.get("thresholdSignatureScheme", "TWO_OF_TWO"))
        pending = data.get("pendingAction")
        # the operator's decision this device should complete: "approve_delegation" | "revoke_delegation"
        self.pending_action: str | None = str(pending) if pending is not None else None
        # made by the operator before this user existed and not claimed yet: client.wallets.claim(wallet)
        self.pregenerated = bool(data.get("pregenerated", False))

    def __repr__(self) -> str:
        return f"Wallet(id={self.id!r}, address={self.address!r})"

    # -- local share ---------------------------------------------------------------------------
    def _client_share(self) -> p2.ClientKeyShare:
        if self._share is None:
            share = self._r.load_share(self.id, version=self.key_version)
            if share is None:  # a share change the server committed while this device missed the answer
                env_id, user_id = self._r.client.environment_id, self._r.user_id()
                found = self._r.store.promote(env_id, user_id, self.id, version=self.key_version,
                                              ceremony_id=self.key_ceremony_id)
                share = found.share if found is not None else None
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

    def settle(self) -> str | None:
        """Ask the server for this wallet's key version and make this device's share match it: a
        pending share (written ahead of a refresh or reshare whose answer was lost) that the server
        committed becomes current, pending shares it can no longer commit go. Returns the kind of
        share change found committed (``"refresh"`` / ``"reshare"``), if any."""
        self._update(self._r.wallet_data(self.id))
        adopted = self._r.store.reconcile(self._r.client.environment_id, self._r.user_id(), self.id,
                                          version=self.key_version, ceremony_id=self.key_ceremony_id)
        self._share = None
        return adopted

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
        """A legacy EIP-155 (type 0), EIP-2930 (1), EIP-1559 (2, the default) or EIP-7702 (4)
        transaction; ``chainId`` 1 … 2**64-1 required. ``.raw_transaction`` is ready to send."""
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
        ), payload=request, wallet_id=self.id)
        # Refuse to take part if the server is about to sign anything other than what we asked for.
        if opened.get("digest") != "0x" + digest.hex():
            raise WalletProofInvalidError("Server digest differs from the payload's")
        version = int(opened.get("keyVersion", self.key_version))
        if version != self.key_version:  # refreshed since this object loaded its share: which share?
            self.settle()
            if version != self.key_version:
                raise CeremonyInvalidError("The wallet changed during signing; retry")
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
        address is unchanged. Gate ``wallet.waas.refresh`` (scope ``wallet:refresh``).

        Crash-safe: the new share is written ahead as *pending* (version + 1, this ceremony) before
        the confirmation that lets the server switch. If that answer is lost, the server is asked
        for the wallet's key version at once — and by the next call, from this object or a new
        process: a refresh the server committed becomes current and is not run again.

        A delegated (2-of-3) wallet is refreshed by re-dealing it (the reshare ceremony, 2-of-3 →
        2-of-3, under the same gate): every share changes, the delegate's included — its new share
        reaches the developer as ``wallet.delegation.refreshed`` — and the old ones combine with no
        current share. Returns nothing either way."""
        if self._has_pending() and self.settle() == "refresh":
            return  # an earlier call's refresh was committed; its answer was lost
        if self.threshold_scheme == ThresholdScheme.TWO_OF_THREE.value:
            self._reshare("TWO_OF_THREE", "TWO_OF_THREE", kind="refresh")
            return
        share = self._client_share()
        c, base = self._r.client, f"/waas/{self.id}/refresh"
        opened = c.request("POST", base, json={}, scope=REFRESH_SCOPE, include_mfa_token=True)
        ceremony_id, version = str(opened["ceremonyId"]), int(opened["keyVersion"])
        if version != self.key_version:
            raise WalletProofInvalidError("The wallet changed on another device; reload it and retry")
        sid = refresh_session_id(self.id, ceremony_id, version)
        contribution, state = client_refresh_respond(sid, RefreshCommit.from_json(opened["message"]), self._r.ring())
        done = c.request("POST", f"{base}/{ceremony_id}", json={"message": contribution.to_json()})
        new_share, confirm = client_refresh_finish(share, state, RefreshOpen.from_json(done["message"]),
                                                   min_modulus_bits=self._r.min_modulus_bits)
        self._r.store.add_pending(c.environment_id, self._r.user_id(), self.id, new_share, version=version + 1,
                                  ceremony_id=ceremony_id, kind="refresh")

        def confirm_round() -> str:
            confirmed = c.request("POST", f"{base}/{ceremony_id}/confirm", json={"message": confirm.to_json()})
            self._update(confirmed["wallet"])
            self._r.store.reconcile(c.environment_id, self._r.user_id(), self.id, version=self.key_version,
                                    ceremony_id=self.key_ceremony_id or ceremony_id)
            return "refresh"

        _settling(confirm_round, lambda: "refresh" if self.settle() == "refresh" else None)
        self._share = None  # (pools are per modulus: the old one is simply no longer used)

    def _has_pending(self) -> bool:
        return bool(self._r.store.pending(self._r.client.environment_id, self._r.user_id(), self.id))

    # -- claim (pregenerated wallets) -----------------------------------------------------------------
    def claim(self, *, prompt: Callable[[], object] | Literal[False] | None = None) -> None:
        """Take over this pregenerated wallet (made by the operator before this user existed; issue 13.1).

        1. ``POST /waas/{walletId}/claim``: the server's stand-in share arrives HPKE-sealed (RFC 9180)
           to a one-time P-256 key made here; it is checked against the wallet's key and address and
           stored as this device's share (skipped when a retry finds it stored already);
        2. :meth:`Wallet.refresh` (gate ``wallet.waas.refresh``) re-randomises both shares; the server
           erases the stand-in share in the transaction that commits it. When the gate wants a token
           the user is asked through ``prompt`` (default ``client.ui.mfa.show(create_mfa_token=True)``;
           ``False``: raise ``MfaRequiredError``) and the refresh runs again.

        Until step 2 commits the wallet signs nothing (409 ``wallet_claim_required``). Crash-safe: a
        lost delivery is asked again; a lost refresh answer is settled as every refresh's is."""
        if not self.pregenerated:
            return
        r = self._r
        env_id, user_id = r.client.environment_id, r.user_id()
        stored = r.store.current_version(env_id, user_id, self.id)
        if stored != (self.key_version, self.key_ceremony_id) and not self._has_pending():
            self._receive_standin(user_id)
        try:
            self.refresh()
        except MfaRequiredError:
            if prompt is False:
                raise
            if prompt is None:
                ui = getattr(r.client, "ui", None)
                if ui is None:
                    raise
                ui.mfa.show(create_mfa_token=True)
            else:
                prompt()
            self.refresh()
        self._update(r.wallet_data(self.id))

    def _receive_standin(self, user_id: str) -> None:
        recipient = generate_recipient_key()
        body = {"recipientPublicKey": recipient_public_key_b64(recipient), "encryptionType": "HPKE"}
        c = self._r.client
        sealed = c.request("POST", f"/waas/{self.id}/claim", json=body)
        version = int(sealed.get("keyVersion", self.key_version))
        if sealed.get("walletId") != self.id or version != self.key_version:
            raise WalletProofInvalidError("Claim answer is for another wallet or key version")
        share = open_standin(ExportEnvelope.from_json(sealed), recipient, claim_info(self.id, user_id, version),
                             expected_address=self.address)
        self._r.store.save(c.environment_id, user_id, self.id, share, version=version,
                           ceremony_id=self.key_ceremony_id)
        self._share = None

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
        if self._has_pending() and self.settle() == "reshare" and self.threshold_scheme == new:
            return {}  # an earlier call's reshare was committed (and delivered); its answer was lost
        return self._reshare(old, new, kind="reshare")

    def _reshare(self, old: str, new: str, *, kind: str) -> dict[str, Any]:
        """The reshare ceremony from ``old`` to ``new``; ``kind="refresh"`` (2-of-3 → 2-of-3) runs
        under the refresh gate and scope."""
        delegate, revoke_delegation = (old, new) == ("TWO_OF_TWO", "TWO_OF_THREE"), new == "TWO_OF_TWO"
        share = self._client_share()
        c, base = self._r.client, f"/waas/{self.id}/reshare"
        body = {"oldThresholdSignatureScheme": old, "newThresholdSignatureScheme": new,
                "delegateToProjectEnvironment": delegate, "revokeDelegation": revoke_delegation}
        scope = REFRESH_SCOPE if kind == "refresh" else RESHARE_SCOPE
        opened = c.request("POST", base, json=body, scope=scope, include_mfa_token=True)
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
                                                seal_for_delegate=seal if new == "TWO_OF_THREE" else None)
        opened2 = c.request("POST", f"{base}/{ceremony_id}", json={"message": dealing.to_json()})
        new_share, confirm = client_reshare_finish(share, state, ReshareOpen.from_json(opened2["message"]),
                                                   min_modulus_bits=self._r.min_modulus_bits)
        self._r.store.add_pending(c.environment_id, self._r.user_id(), self.id, new_share, version=version + 1,
                                  ceremony_id=ceremony_id, kind=kind)

        def confirm_round() -> dict[str, Any]:
            done = c.request("POST", f"{base}/{ceremony_id}/confirm", json={"message": confirm.to_json()})
            self._update(done["wallet"])
            self._r.store.reconcile(c.environment_id, self._r.user_id(), self.id, version=self.key_version,
                                    ceremony_id=self.key_ceremony_id or ceremony_id)
            report = done.get("delegation")
            return dict(report) if isinstance(report, dict) else {}

        def settled() -> dict[str, Any] | None:
            return {} if self.settle() == kind and self.threshold_scheme == new else None

        result = _settling(confirm_round, settled)
        self._share = None
        return result

    def decline_delegation(self) -> None:
        """Refuse a delegation the operator approved (``pending_action == "approve_delegation"``)."""
        self._update(self._r.client.request("POST", f"/waas/{self.id}/delegation/decline", json={})["wallet"])

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
        if version != self.key_version:  # refreshed since: the server share matches the newer one
            self.settle()
            if version != self.key_version:
                raise CeremonyInvalidError("The wallet changed during the export; retry")
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

    # -- crash safety (settling key generations with the server) ------------------------------------
    def wallet_data(self, wallet_id: str) -> dict[str, Any]:
        """The server's view of one wallet (``GET /waas/wallets``): key version, key ceremony, scheme."""
        for data in self.client.request("GET", "/waas/wallets")["wallets"]:
            if data["id"] == wallet_id:
                return dict(data)
        raise NotFoundError("Wallet not found")

    def _resume_keygens(self) -> list[Wallet]:
        """Finish key generations whose last answer was lost: the server answers a repeated final
        round of a finished ceremony with the same result (for the same user, from any session)."""
        env_id, user_id = self.client.environment_id, self.user_id()
        wallets = []
        for ceremony_id, pending in self.store.keygens(env_id, user_id).items():
            state = p2.ClientKeygenState.from_json(pending["state"])
            try:
                done = self.client.request("POST", f"/waas/create/{ceremony_id}", json={"message": pending["message"]})
            except Exception as exc:
                if answer_lost(exc) or not isinstance(exc, ActionMFAError) or exc.status_code in (401, 429):
                    continue  # unknown outcome: keep it for the next call
                # Refused (expired, unknown, invalid): no wallet holds this share.
                self.store.finish_keygen(env_id, user_id, ceremony_id)
                continue
            expected = pending.get("walletId")
            wallets.append(self._finish_keygen(ceremony_id, user_id, state, done,
                                               str(expected) if expected is not None else None))
        return wallets

    def _abandon(self, ceremony_id: str, state: p2.ClientKeygenState, done: Mapping[str, Any]) -> None:
        """Ask the server to drop the wallet this device refused (else it stays listed, unusable):
        best effort — a server that ignores it keeps a wallet nobody can sign with."""
        wallet = done.get("wallet")
        wallet_id = wallet.get("id") if isinstance(wallet, Mapping) else None
        if not isinstance(wallet_id, str):
            return
        proof = p2.client_keygen_abandon(state, wallet_id, ceremony_id)
        with contextlib.suppress(Exception):  # best effort: the refusal is what the caller must see
            self.client.request("POST", f"/waas/create/{ceremony_id}/abandon", json={"message": proof.to_json()})

    def _finish_keygen(self, ceremony_id: str, user_id: str, state: p2.ClientKeygenState,
                       done: Mapping[str, Any], wallet_id: str | None) -> Wallet:
        env_id = self.client.environment_id
        try:
            share = p2.client_keygen_finish(state, p2.KeygenOpen.from_json(done["message"]),
                                            min_modulus_bits=self.min_modulus_bits)
            wallet = Wallet(self, done["wallet"], share=share)
            if wallet_id is not None and wallet.id != wallet_id:
                raise WalletProofInvalidError("Server finished another wallet than it opened")
            if address_of(share.public_key) != wallet.address:
                raise WalletProofInvalidError("Server reported another address than the joint key's")
        except WalletProofInvalidError:
            self.store.finish_keygen(env_id, user_id, ceremony_id)  # a wallet this SDK refuses to hold
            self._abandon(ceremony_id, state, done)
            raise
        self.store.finish_keygen(env_id, user_id, ceremony_id, wallet_id=wallet.id, share=share)
        return wallet

    @overload
    def create(self, *, chain: Literal["EVM"] = "EVM") -> Wallet: ...

    @overload
    def create(self, *, chain: Literal["SOL"]) -> SolanaWallet: ...

    def create(self, *, chain: str = "EVM") -> Wallet | SolanaWallet:
        """Run two-party key generation (``chain="SOL"``: FROST, :mod:`actionmfa.sdk.solana_wallets`);
        the user share is written to the share store.

        Crash-safe (EVM): the client state is written ahead before the final round. If that answer
        is lost the round is repeated at once, and again by the next ``create()`` or ``list()`` (from
        this object or a new process): the wallet the server created is completed, not duplicated."""
        if chain == "SOL":
            return create_solana_wallet(self.client, self.solana_store)
        if chain != "EVM":
            raise ValueError("chain must be 'EVM' or 'SOL'")
        resumed = self._resume_keygens()
        if resumed:
            return resumed[0]
        opened = self.client.request("POST", "/waas/create", json={"chain": "EVM"})
        ceremony_id = str(opened["ceremonyId"])
        user_id, wallet_id = str(opened["userId"]), str(opened["walletId"])
        sid = p2.keygen_session_id(ceremony_id, self.client.environment_id, user_id, wallet_id=wallet_id)
        share_msg, state = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(opened["message"]), self.ring())
        message = share_msg.to_json()
        self.store.put_keygen(self.client.environment_id, user_id, ceremony_id,
                              {"state": state.to_json(), "message": message, "walletId": wallet_id})

        def final_round() -> Wallet:
            done = self.client.request("POST", f"/waas/create/{ceremony_id}", json={"message": message})
            return self._finish_keygen(ceremony_id, user_id, state, done, wallet_id)

        def settle() -> Wallet | None:
            resumed = self._resume_keygens()
            return resumed[0] if resumed else None

        return _settling(final_round, settle)

    def _wallet(self, data: Mapping[str, Any]) -> Wallet | SolanaWallet:
        if data.get("chain") == "SOL":
            return SolanaWallet(self.client, self.solana_store, self.user_id, data)
        return Wallet(self, data)

    def list(self, *, claim: bool = True) -> list[Wallet | SolanaWallet]:
        """The user's wallets (key generations interrupted on this device are completed first). With
        ``claim`` (the default), a pregenerated wallet found here is claimed (:meth:`claim`) — unless
        its refresh needs an MFA token the client does not hold: then it stays ``pregenerated`` (its
        stand-in share already on this device) until ``claim(wallet)`` runs with a prompt."""
        self._resume_keygens()
        body = self.client.request("GET", "/waas/wallets")
        wallets = [self._wallet(w) for w in body["wallets"]]
        if claim:
            for wallet in wallets:
                if isinstance(wallet, Wallet) and wallet.pregenerated:
                    try:
                        self.claim(wallet, prompt=False)
                    except MfaRequiredError:
                        continue
        return wallets

    def claim(self, wallet: Wallet, *, prompt: Callable[[], object] | Literal[False] | None = None) -> Wallet:
        """Take over a pregenerated wallet (:meth:`Wallet.claim`); returns it, claimed."""
        wallet.claim(prompt=prompt)
        return wallet

    def pending_actions(self) -> dict[str, str]:
        """Wallet id → pending operator decision, from the user payload the client last received
        (the sign-in answer, a session refresh or ``client.users.me()``): no request. ``list()``
        reads the same from the server (``wallet.pending_action``)."""
        user = self.client.session.user
        return SdkUser(user).pending_wallet_actions if isinstance(user, dict) else {}

    def complete_pending(self, *, decline: bool = False,
                         prompt: Callable[[], object] | None = None) -> builtins.list[Wallet]:
        """Complete what the operator decided for this user's wallets (``wallet.pending_action``):
        an approved delegation reshares to 2-of-3 (or, with ``decline=True``, is declined), a revoked
        one reshares back to 2-of-2. Each reshare passes the ``wallet.waas.reshare`` gate; when it
        needs a token the user is asked through ``prompt`` (default ``client.ui.mfa.show()``) and the
        reshare runs again. Returns the wallets changed."""
        changed: builtins.list[Wallet] = []
        for wallet in self.list():
            if not isinstance(wallet, Wallet) or wallet.pending_action is None:
                continue
            approve = wallet.pending_action == "approve_delegation"
            if approve and decline:
                wallet.decline_delegation()
            else:
                self._reshare_prompting(wallet, approve=approve, prompt=prompt)
            changed.append(wallet)
        return changed

    def _reshare_prompting(self, wallet: Wallet, *, approve: bool, prompt: Callable[[], object] | None) -> None:
        try:
            wallet.reshare(delegate=approve, revoke_delegation=not approve)
        except MfaRequiredError:
            ui = getattr(self.client, "ui", None)
            if prompt is None:
                if ui is None:
                    raise
                prompt = lambda: ui.mfa.show(create_mfa_token=True)  # noqa: E731
            prompt()
            wallet.reshare(delegate=approve, revoke_delegation=not approve)

    def get(self, wallet_id: str) -> Wallet | SolanaWallet:
        for wallet in self.list():
            if wallet.id == wallet_id:
                return wallet
        raise NotFoundError("Wallet not found")
