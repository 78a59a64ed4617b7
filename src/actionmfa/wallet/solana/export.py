"""Export of a Solana wallet's key (DESIGN §7): the server's FROST share HPKE-sealed to the client.

The suite and the context binding are the EVM export's (:mod:`actionmfa.wallet.export`: RFC 9180
DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, ``info`` naming wallet, request and MFA
token). The client interpolates s = λ_1·s_1 + λ_2·s_2, checks s·B is the wallet's key, and returns
the 64 bytes **scalar ‖ public key** in base58.

A threshold key has no RFC 8032 seed (the 32 bytes that SHA-512 expands into the scalar and the
nonce prefix), so this is not the "seed ‖ public key" keypair that Phantom, ``solana-keygen`` or
``solders.keypair.Keypair.from_bytes`` import: they would hash the scalar as if it were a seed and
derive another key. What can use it: :func:`sign_with_exported_key` here, or any Ed25519 signer that
takes an expanded scalar (for example ed25519-dalek's ``hazmat::raw_sign``); or the exported key
can sign one last transfer of the funds to a new, ordinary keypair.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import base58
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from actionmfa.errors import WalletExportInvalidError
from actionmfa.wallet.export import ExportEnvelope
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.ceremony import group_secret
from actionmfa.wallet.frost.group import GroupError
from actionmfa.wallet.frost.keys import KeyShare

__all__ = ["combine_exported", "open_server_share", "seal_server_share", "sign_with_exported_key"]

_SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
_ENC_LEN = 65


def seal_server_share(share: KeyShare, recipient: ec.EllipticCurvePublicKey, info: bytes) -> ExportEnvelope:
    plaintext = json.dumps({"chain": "SOL", "identifier": share.identifier, "s": share.secret_share.hex()}).encode()
    blob = _SUITE.encrypt(plaintext, recipient, info=info)
    return ExportEnvelope(blob[:_ENC_LEN], blob[_ENC_LEN:])


def open_server_share(envelope: ExportEnvelope, recipient: ec.EllipticCurvePrivateKey, info: bytes) -> bytes:
    try:
        data = json.loads(_SUITE.decrypt(envelope.encapsulated_key + envelope.ciphertext, recipient, info=info))
        if data.get("chain") != "SOL" or data.get("identifier") != 2:
            raise ValueError("not a Solana server share")
        return g.deserialize_scalar(bytes.fromhex(data["s"]))
    except (InvalidTag, ValueError, KeyError, TypeError, GroupError) as exc:
        raise WalletExportInvalidError("Export ciphertext does not open in this context") from exc


def combine_exported(user: KeyShare, server_secret: bytes) -> str:
    """base58(s ‖ PK) after checking s·B == PK."""
    s = group_secret(user, server_secret)
    try:
        ok = hmac.compare_digest(g.base_mult(s), user.group_public_key)
    except GroupError:
        ok = False
    if not ok:
        raise WalletExportInvalidError("Exported key does not match the wallet address")
    return base58.b58encode(s + user.group_public_key).decode()


def sign_with_exported_key(exported: str, message: bytes) -> bytes:
    """An RFC 8032 Ed25519 signature from the exported scalar: R = r·B with a hedged nonce
    r = H(random ‖ s ‖ message) (RFC 9591 §4.1's nonce_generate), S = r + H(R ‖ A ‖ M)·s."""
    raw = base58.b58decode(exported)
    if len(raw) != 64:
        raise WalletExportInvalidError("An exported Solana key is 64 bytes")
    s, public = g.deserialize_scalar(raw[:32]), raw[32:]
    if not hmac.compare_digest(g.base_mult(s), public):
        raise WalletExportInvalidError("Exported key is inconsistent")
    r = g.hash_to_scalar(secrets.token_bytes(32) + s + hashlib.sha512(message).digest())
    big_r = g.base_mult(r)
    c = g.h2(big_r + public + message)
    return big_r + g.scalar_add(r, g.scalar_mul(c, s))
