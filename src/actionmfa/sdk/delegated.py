"""The developer's side of delegated access: sign with the delegated share and the server's share.

Once, when delegation is set up: make ring-Pedersen parameters and register them (admin API)::

    ring = create_delegate_ring()          # (N̂, ŝ, t̂) with Πprm; keep ring.params.to_json()
    POST /api/v0/environments/{id}/waas/delegatedAccess/ringPedersen   body: ring.to_json()

For each ``wallet.delegation.created`` delivery::

    from actionmfa.wallet.delegation import open_delegated_access
    access = open_delegated_access(body, headers, hmac_secret=secret, private_key=rsa_key, ring=ring.params)
    signer = DelegatedSigner(environment_id, access, base_url="https://…")
    signer.sign_message("hello")           # eth_account SignedMessage, for the user's address

``open_delegated_access`` refuses a delivery outside the replay window and a pair set-up whose
Paillier key or encrypted share is not proven against ``ring`` (Πfac, Πlog*): the share is never
used unless ckey encrypts the server's pair share in range.

The server takes part as P1 with its share for the pair {server, delegate} (own Paillier key); the
request is authenticated with the wallet API key. After a revocation every call is refused
(401 ``unauthorized``), and the delegated share no longer matches any current share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from eth_account.datastructures import SignedMessage, SignedTransaction

from actionmfa.errors import WalletProofInvalidError, WalletSignatureInvalidError, error_from_body
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import address_of
from actionmfa.wallet.delegation import DelegatedAccess
from actionmfa.wallet.keyproofs import ClientRing
from actionmfa.wallet.payloads import SignRequest, assemble, message_request, transaction_request

__all__ = ["DelegatedSigner", "create_delegate_ring"]


def create_delegate_ring() -> ClientRing:
    """Fresh ring-Pedersen parameters ``(N̂, ŝ, t̂)`` (2048-bit N̂) with their Πprm (CGGMP21 §C.2),
    for ``POST …/waas/delegatedAccess/ringPedersen`` (``ring.to_json()``). The delegate only
    *verifies* proofs against them, so the trapdoor (the factors of N̂ and λ) is discarded here:
    keep ``ring.params`` (public) and pass it to ``open_delegated_access(..., ring=...)``. Takes
    about a second (prime search and 128 proof rounds)."""
    ring, _trapdoor = ClientRing.create()
    return ring


class DelegatedSigner:
    """Signs for one delegated wallet (``access`` from :func:`open_delegated_access`)."""

    def __init__(self, environment_id: str, access: DelegatedAccess, *, base_url: str = "http://127.0.0.1:8080",
                 http_client: httpx.Client | None = None, timeout: float = 30.0) -> None:
        self.environment_id = environment_id
        self.access = access
        self.address = address_of(access.pair_share.public_key)
        self._http = http_client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._owns_http = http_client is None

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        base = f"/api/v0/environments/{self.environment_id}/waas/{self.access.wallet_id}/delegatedAccess/signMessage"
        response = self._http.post(base + path, json=dict(body),
                                   headers={"authorization": f"Bearer {self.access.api_key}"})
        try:
            data = response.json()
        except ValueError:
            data = None
        if not response.is_success:
            raise error_from_body(response.status_code, data)
        return data

    def sign_message(self, message: str | bytes) -> SignedMessage:
        result = self._sign(message_request(message))
        assert isinstance(result, SignedMessage)  # noqa: S101
        return result

    def sign_transaction(self, tx: Mapping[str, Any]) -> SignedTransaction:
        result = self._sign(transaction_request(tx))
        assert isinstance(result, SignedTransaction)  # noqa: S101
        return result

    def _sign(self, request: SignRequest) -> Any:
        digest = request.digest()
        body: dict[str, Any] = request.to_json()
        opened = self._post("", body)
        if opened.get("digest") != "0x" + digest.hex():
            raise WalletProofInvalidError("Server digest differs from the payload's")
        ceremony_id = str(opened["ceremonyId"])
        sid = p2.sign_session_id(self.access.wallet_id, ceremony_id, digest, key_version=int(opened["keyVersion"]))
        nonce_msg, state = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
        revealed = self._post(f"/{ceremony_id}/nonce", {**body, "message": nonce_msg.to_json()})
        partial = p2.client_sign_finish(self.access.pair_share, state, p2.SignReveal.from_json(revealed["message"]))
        done = self._post(f"/{ceremony_id}/complete", {**body, "message": partial.to_json()})
        sig = p2.Signature.from_json(done["signature"])
        if not p2.verify_signature(self.access.pair_share.public_key, digest, sig):
            raise WalletSignatureInvalidError("Server returned a signature that does not verify")
        return assemble(request, sig)
