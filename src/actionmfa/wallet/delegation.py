"""Delegated-access delivery: Dynamic's hybrid envelope and webhook signature (wallet-crypto.md §1.4, §7).

Envelope ``{alg: "HYBRID-RSA-AES-256", iv, ct, tag, ek}`` (base64url, no padding): a fresh AES-256-GCM
key encrypts the payload and is wrapped with RSA-OAEP-SHA256 under the developer's public key.
The webhook body is signed with HMAC-SHA256 under the environment's delegation secret (header
:data:`SIGNATURE_HEADER`, lower-case hex), compared in constant time.

The delegated share reaches the developer as **two** envelopes — the server's sub-share and the
user's (sealed by the user's SDK, so the server never sees it) — plus the public Feldman
commitments; :func:`open_delegation` checks the delivery (Standard Webhooks signature, timestamp within the
replay window, body for the ``webhook-id`` it is signed under — :func:`actionmfa.webhook_verify.verify_webhook`,
the SDK's own check), opens both and combines them with
:func:`actionmfa.wallet.reshare.delegate_receive`. The receiver deduplicates on the returned
``event_id`` and keeps only the highest ``share_version`` per wallet (a redelivery keeps both).

The body-only ``x-actionmfa-signature-256`` (:func:`verify_body`) carries no timestamp, so a
captured delivery verifies forever: it is no longer accepted here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_bytes, bytes_to_b64
from actionmfa.wallet.curve import ORDER, point_from_hex
from actionmfa.wallet.ecdsa2p import ClientKeyShare
from actionmfa.wallet.paillier import DEFAULT_MODULUS_BITS
from actionmfa.wallet.reshare import (
    DELEGATE_INDEX,
    DELEGATE_PAIR,
    DelegateShare,
    PairSetup,
    client_pair_share,
    delegate_receive,
    pair_session_id,
)
from actionmfa.wallet.zk.ring import RingParams
from actionmfa.webhook_verify import DEFAULT_TOLERANCE_SECONDS, WebhookVerificationError, verify_webhook

__all__ = [
    "ENVELOPE_ALG",
    "SIGNATURE_HEADER",
    "DelegatedAccess",
    "DelegationEvent",
    "api_key_plaintext",
    "load_rsa_public_key",
    "open_delegated_access",
    "open_delegation",
    "open_envelope",
    "seal_envelope",
    "sign_body",
    "sub_share_plaintext",
    "verify_body",
]

ENVELOPE_ALG = "HYBRID-RSA-AES-256"
SIGNATURE_HEADER = "x-actionmfa-signature-256"
MIN_RSA_BITS = 2048
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ValueError("publicKeyPem is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError(f"publicKeyPem must be an RSA key of at least {MIN_RSA_BITS} bits")
    return key


def seal_envelope(public_key_pem: str, plaintext: bytes) -> dict[str, str]:
    """RSA-OAEP-SHA256 wrap of a fresh AES-256-GCM key that encrypts ``plaintext``."""
    key = load_rsa_public_key(public_key_pem)
    aes_key, iv = AESGCM.generate_key(bit_length=256), secrets.token_bytes(12)
    sealed = AESGCM(aes_key).encrypt(iv, plaintext, None)
    return {"alg": ENVELOPE_ALG, "iv": bytes_to_b64(iv), "ct": bytes_to_b64(sealed[:-16]),
            "tag": bytes_to_b64(sealed[-16:]), "ek": bytes_to_b64(key.encrypt(aes_key, _OAEP))}


def open_envelope(private_key: rsa.RSAPrivateKey, envelope: dict[str, Any]) -> bytes:
    try:
        if envelope.get("alg") != ENVELOPE_ALG:
            raise ValueError("alg")
        aes_key = private_key.decrypt(b64_to_bytes(envelope["ek"]), _OAEP)
        return AESGCM(aes_key).decrypt(b64_to_bytes(envelope["iv"]),
                                       b64_to_bytes(envelope["ct"]) + b64_to_bytes(envelope["tag"]), None)
    except (KeyError, TypeError, ValueError, InvalidTag) as exc:
        raise WalletProofInvalidError("Delegated share envelope could not be opened") from exc


def sub_share_plaintext(wallet_id: str, share_version: int, dealer: str, value: int) -> bytes:
    """What each envelope carries; the delegate checks wallet, version and index before combining."""
    return json.dumps({"walletId": wallet_id, "shareVersion": share_version, "from": dealer,
                       "index": DELEGATE_INDEX, "subShare": format(value, "064x")},
                      separators=(",", ":")).encode()


def api_key_plaintext(wallet_id: str, share_version: int, api_key: str) -> bytes:
    return json.dumps({"walletId": wallet_id, "shareVersion": share_version, "apiKey": api_key},
                      separators=(",", ":")).encode()


def sign_body(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_body(secret: bytes, body: bytes, signature: str) -> bool:
    # As bytes: compare_digest on str raises TypeError for a non-ASCII header instead of refusing it.
    # An empty secret is a key everyone knows: never a match.
    return bool(secret) and hmac.compare_digest(sign_body(secret, body).encode(), signature.strip().lower().encode())


Secret = str | bytes | Sequence[str | bytes]


@dataclass(frozen=True)
class DelegationEvent:
    """A verified ``wallet.delegation.created`` delivery with the delegate's Shamir share."""

    event_id: str  # deduplicate on it (a redelivery keeps it)
    wallet_id: str
    share_version: int  # keep the highest per wallet: an older one is a stale delivery
    share: DelegateShare
    data: dict[str, Any]


def open_delegation(body: bytes, headers: Mapping[str, str], *, hmac_secret: Secret, private_key: rsa.RSAPrivateKey,
                    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> DelegationEvent:
    """The developer's side of ``wallet.delegation.created``: verify the delivery (signature and
    replay window, as :func:`~actionmfa.webhook_verify.verify_webhook`), open, Feldman-check, combine."""
    try:
        event = verify_webhook(body, headers, hmac_secret, tolerance_seconds=tolerance_seconds, now=now)
    except WebhookVerificationError as exc:
        raise WalletProofInvalidError(f"Delegation webhook refused: {exc.message}") from exc
    try:
        data = event["data"]
        wallet_id, version = str(data["walletId"]), int(data["shareVersion"])
        public_key = point_from_hex(str(data["publicKey"]))
        commitments = {k: tuple(point_from_hex(p) for p in data["commitments"][k]) for k in ("server", "user")}
        envelopes = {"server": data["encryptedDelegatedShare"], "user": data["encryptedUserSubShare"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise WalletProofInvalidError("Malformed delegation event") from exc
    received = []
    for dealer, envelope in envelopes.items():
        try:
            plain = json.loads(open_envelope(private_key, envelope))
            value = int(plain["subShare"], 16)
            ok = (plain["walletId"] == wallet_id and plain["shareVersion"] == version and plain["from"] == dealer
                  and plain["index"] == DELEGATE_INDEX and 0 < value < ORDER)
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed delegated sub-share") from exc
        if not ok:
            raise WalletProofInvalidError("Delegated sub-share is for another wallet or version")
        received.append((value, commitments[dealer]))
    return DelegationEvent(str(event["eventId"]), wallet_id, version, delegate_receive(received, public_key), data)


@dataclass(frozen=True)
class DelegatedAccess:
    """Everything the developer's server keeps from ``wallet.delegation.created``."""

    wallet_id: str
    share: DelegateShare  # its Shamir share (index 3): keep it secret, like a private key
    api_key: str  # authenticates delegated signing requests for this wallet
    pair_share: ClientKeyShare  # the additive share for the pair {server, delegate}, with ckey under N_pair
    event_id: str = ""
    share_version: int = 0


def open_delegated_access(body: bytes, headers: Mapping[str, str], *, hmac_secret: Secret,
                          private_key: rsa.RSAPrivateKey, ring: RingParams,
                          min_modulus_bits: int = DEFAULT_MODULUS_BITS,
                          tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
                          now: float | None = None) -> DelegatedAccess:
    """:func:`open_delegation` plus the wallet API key and the pair set-up, proven against ``ring``:
    the delegate's **own** ring-Pedersen parameters, as registered with
    ``POST …/waas/delegatedAccess/ringPedersen`` (:func:`actionmfa.sdk.delegated.create_delegate_ring`).
    The pair's N (Πmod, Πprm, Πfac) and ``ckey`` (Πlog* against ``Q1_pair``) are checked before the
    share is returned — a server that sends ``Enc(x1_pair + 2^900)`` is refused here, before any c3."""
    opened = open_delegation(body, headers, hmac_secret=hmac_secret, private_key=private_key,
                             tolerance_seconds=tolerance_seconds, now=now)
    data, wallet_id, version = opened.data, opened.wallet_id, opened.share_version
    try:
        plain = json.loads(open_envelope(private_key, data["encryptedWalletApiKey"]))
        setup = PairSetup.from_json(data["delegatedPairSetup"])
        ceremony_id = str(data["ceremonyId"])
        api_key = str(plain["apiKey"])
        ok = plain["walletId"] == wallet_id and plain["shareVersion"] == version
    except (KeyError, TypeError, ValueError) as exc:
        raise WalletProofInvalidError("Malformed delegation event") from exc
    if not ok:
        raise WalletProofInvalidError("Wallet API key is for another wallet or version")
    pair = client_pair_share(opened.share, DELEGATE_PAIR, setup, ring=ring,
                             sid=pair_session_id(wallet_id, ceremony_id, version), min_modulus_bits=min_modulus_bits)
    return DelegatedAccess(wallet_id, opened.share, api_key, pair, opened.event_id, version)
