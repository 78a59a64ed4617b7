"""Private-key export: HPKE delivery of the server share (RFC 9180) and Web3 Secret Storage v3.

The server seals **its share** ``x1`` — never the key, which it does not have — to an ephemeral
P-256 key the client generated for this one export, with suite DHKEM(P-256, HKDF-SHA256),
HKDF-SHA256, ChaCha20-Poly1305 (the suite Privy documents), mode base. The HPKE ``info`` binds the
ciphertext to the wallet, the request and the MFA token that authorised it, so a ciphertext replayed
into another export context fails to open. The client adds its share and checks the address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from eth_account import Account

from actionmfa.errors import InvalidRequestError, WalletExportInvalidError
from actionmfa.wallet.codec import b64_to_bytes, bytes_to_b64
from actionmfa.wallet.curve import ORDER, address_of, base_mul

__all__ = [
    "ENCRYPTION_TYPE",
    "ExportEnvelope",
    "combine_shares",
    "export_info",
    "generate_recipient_key",
    "keystore_v3",
    "open_share",
    "parse_recipient_key",
    "recipient_public_key_b64",
    "seal_share",
]

ENCRYPTION_TYPE = "HPKE"
_SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
_ENC_LEN = 65  # uncompressed P-256 point


def export_info(wallet_id: str, request_id: str, token_id: str) -> bytes:
    """HPKE ``info``: a context string no other export can reproduce."""
    return b"actionmfa/export/v1\x00" + "\x00".join((wallet_id, request_id, token_id)).encode()


def generate_recipient_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def recipient_public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """base64url SPKI DER of the public half (what the client sends)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bytes_to_b64(der)


def parse_recipient_key(text: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(b64_to_bytes(text))
    except (ValueError, TypeError) as exc:
        raise InvalidRequestError("Invalid recipient public key", field="recipientPublicKey") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidRequestError("Recipient key must be P-256", field="recipientPublicKey")
    return key


@dataclass(frozen=True)
class ExportEnvelope:
    encapsulated_key: bytes
    ciphertext: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "encryptionType": ENCRYPTION_TYPE,
            "encapsulatedKey": bytes_to_b64(self.encapsulated_key),
            "ciphertext": bytes_to_b64(self.ciphertext),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportEnvelope:
        try:
            if data.get("encryptionType") != ENCRYPTION_TYPE:
                raise ValueError("unsupported encryption type")
            return cls(b64_to_bytes(str(data["encapsulatedKey"])), b64_to_bytes(str(data["ciphertext"])))
        except (KeyError, ValueError, TypeError) as exc:
            raise WalletExportInvalidError("Malformed export envelope") from exc


def seal_share(share: int, recipient: ec.EllipticCurvePublicKey, info: bytes) -> ExportEnvelope:
    plaintext = json.dumps({"x1": format(share, "064x")}).encode()
    blob = _SUITE.encrypt(plaintext, recipient, info=info)
    return ExportEnvelope(blob[:_ENC_LEN], blob[_ENC_LEN:])


def open_share(envelope: ExportEnvelope, recipient: ec.EllipticCurvePrivateKey, info: bytes) -> int:
    try:
        plaintext = _SUITE.decrypt(envelope.encapsulated_key + envelope.ciphertext, recipient, info=info)
        share = int(json.loads(plaintext)["x1"], 16)
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise WalletExportInvalidError("Export ciphertext does not open in this context") from exc
    if not 0 < share < ORDER:
        raise WalletExportInvalidError("Exported share out of range")
    return share


def combine_shares(server_share: int, client_share: int, expected_address: str) -> str:
    """x = x1 + x2 mod q as 64 hex characters without 0x, after checking it yields the address."""
    key = (server_share + client_share) % ORDER
    if key == 0 or address_of(base_mul(key)).lower() != expected_address.lower():
        raise WalletExportInvalidError("Exported key does not match the wallet address")
    return format(key, "064x")


def keystore_v3(private_key_hex: str, password: str) -> dict[str, Any]:
    """A Web3 Secret Storage v3 keystore (scrypt) of the key."""
    return dict(Account.encrypt(bytes.fromhex(private_key_hex), password))
