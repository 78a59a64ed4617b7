"""Secrets at rest and tokens (DESIGN §8).

* :class:`Keyring` — AES-256-GCM with a key id in every blob, so keys rotate without a flag day.
* :func:`Keyring.keyed_hash` — HMAC-SHA256 under a separate pepper, for values we only ever compare
  (MFA tokens, recovery codes, admin tokens, email codes).
* :func:`random_token` and :func:`constant_time_equal`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from actionmfa.errors import InternalError

_PREFIX = "v1"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token with ``nbytes`` bytes of entropy (256 bits by default)."""
    return b64u(secrets.token_bytes(nbytes))


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    a_b = a.encode() if isinstance(a, str) else a
    b_b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_b, b_b)


class DecryptionError(InternalError):
    code = "internal_error"
    default_message = "Stored secret could not be decrypted"


@dataclass
class Keyring:
    """AEAD keys by id plus the active id used for new encryptions, and the hashing pepper."""

    keys: dict[str, bytes]
    active_key_id: str
    hash_key: bytes
    _aeads: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.active_key_id not in self.keys:
            raise ValueError(f"active key id {self.active_key_id!r} is not in the keyring")
        for kid, key in self.keys.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes")
            if "." in kid:
                raise ValueError("key ids may not contain '.'")
        if len(self.hash_key) < 32:
            raise ValueError("hash key must be at least 32 bytes")
        self._aeads = {kid: AESGCM(key) for kid, key in self.keys.items()}

    @classmethod
    def generate(cls) -> Keyring:
        return cls(keys={"k1": secrets.token_bytes(32)}, active_key_id="k1", hash_key=secrets.token_bytes(32))

    def encrypt(self, plaintext: bytes, *, aad: str) -> str:
        """Seal ``plaintext``; ``aad`` binds the blob to its row (e.g. ``"totp:<device id>"``)."""
        nonce = secrets.token_bytes(12)
        ct = self._aeads[self.active_key_id].encrypt(nonce, plaintext, aad.encode())
        return ".".join((_PREFIX, self.active_key_id, b64u(nonce), b64u(ct)))

    def decrypt(self, blob: str, *, aad: str) -> bytes:
        try:
            prefix, kid, nonce_s, ct_s = blob.split(".")
        except ValueError as exc:
            raise DecryptionError() from exc
        aead = self._aeads.get(kid)
        if prefix != _PREFIX or aead is None:
            raise DecryptionError()
        try:
            return aead.decrypt(b64u_decode(nonce_s), b64u_decode(ct_s), aad.encode())
        except InvalidTag as exc:
            raise DecryptionError() from exc

    def key_id_of(self, blob: str) -> str:
        return blob.split(".")[1]

    def needs_rotation(self, blob: str) -> bool:
        return self.key_id_of(blob) != self.active_key_id

    def reencrypt(self, blob: str, *, aad: str) -> str:
        return self.encrypt(self.decrypt(blob, aad=aad), aad=aad)

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose, derived from the pepper (HMAC-SHA256 as a PRF, like
        HKDF-Expand of RFC 5869 §2.3 with a single block): the audit chain's key is ``"audit-chain"``."""
        return hmac.new(self.hash_key, b"actionmfa.subkey\x00" + purpose.encode() + b"\x01", hashlib.sha256).digest()

    def keyed_hash(self, value: str | bytes, *, purpose: str) -> str:
        """HMAC-SHA256(pepper, purpose || 0x00 || value), hex. ``purpose`` separates domains."""
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(self.hash_key, purpose.encode() + b"\x00" + data, hashlib.sha256).hexdigest()
