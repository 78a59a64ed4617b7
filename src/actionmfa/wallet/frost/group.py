"""The edwards25519 group and scalar field of FROST(Ed25519, SHA-512) (RFC 9591 §6.1), on libsodium.

Every group and scalar operation is a libsodium core function reached through PyNaCl's bindings
(``crypto_core_ed25519_*``, ``crypto_scalarmult_ed25519_*noclamp``); nothing here does field
arithmetic of its own. Elements and scalars are their canonical 32-byte encodings:

* an element is RFC 8032 §5.1.2 compressed; :func:`deserialize_element` refuses a non-canonical
  encoding, a small-order point, a point outside the prime-order subgroup and the identity (RFC 9591
  §6.1 DeserializeElement: libsodium's ``is_valid_point`` does all but the identity check);
* a scalar is little-endian with value below the group order ``L`` (DeserializeScalar refuses any
  other 32 bytes, so the top three bits are zero).

The hash-to-scalar functions H1–H5 use the context string ``FROST-ED25519-SHA512-v1``; H2 has no
prefix so that the signatures are plain RFC 8032 Ed25519 signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from nacl import bindings as sodium

__all__ = [
    "CONTEXT_STRING",
    "ORDER",
    "RandomBytes",
    "add",
    "base_mult",
    "deserialize_element",
    "deserialize_scalar",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "hash_to_scalar",
    "is_zero",
    "random_scalar",
    "scalar",
    "scalar_add",
    "scalar_inv",
    "scalar_mul",
    "scalar_mult",
    "scalar_neg",
    "scalar_sub",
]

CONTEXT_STRING = b"FROST-ED25519-SHA512-v1"
ORDER = 2**252 + 27742317777372353535851937790883648493
_ZERO = bytes(32)
_IDENTITY = b"\x01" + bytes(31)

RandomBytes = Callable[[int], bytes]
"""Where randomness comes from: ``secrets.token_bytes`` unless a test injects fixed bytes."""


class GroupError(ValueError):
    """A byte string is not a valid element or scalar (callers turn it into a typed 422)."""


# -- scalars ---------------------------------------------------------------------------------------
def scalar(value: int) -> bytes:
    """Scalar(value): the canonical encoding of a small non-negative integer (identifiers)."""
    if not 0 <= value < ORDER:
        raise GroupError("scalar out of range")
    return value.to_bytes(32, "little")


def deserialize_scalar(buf: bytes) -> bytes:
    """RFC 9591 §6.1 DeserializeScalar: 32 little-endian bytes whose value is below L."""
    if len(buf) != 32 or int.from_bytes(buf, "little") >= ORDER:
        raise GroupError("not a canonical scalar")
    return bytes(buf)


def is_zero(s: bytes) -> bool:
    return hmac.compare_digest(s, _ZERO)


def scalar_add(a: bytes, b: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_add(a, b))


def scalar_sub(a: bytes, b: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_sub(a, b))


def scalar_mul(a: bytes, b: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_mul(a, b))


def scalar_neg(a: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_negate(a))


def scalar_inv(a: bytes) -> bytes:
    if is_zero(a):
        raise GroupError("zero has no inverse")
    return bytes(sodium.crypto_core_ed25519_scalar_invert(a))


def hash_to_scalar(data: bytes) -> bytes:
    """A 64-byte SHA-512 digest read little-endian and reduced mod L (RFC 9591 §6.1 H1–H3)."""
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(hashlib.sha512(data).digest()))


def random_scalar(rng: RandomBytes = secrets.token_bytes) -> bytes:
    """RandomScalar() by wide reduction (RFC 9591 Appendix D.2): 64 random bytes reduced mod L,
    redrawn in the negligible case of zero (a coefficient or nonce of zero is never wanted)."""
    while True:
        s = bytes(sodium.crypto_core_ed25519_scalar_reduce(rng(64)))
        if not is_zero(s):
            return s


def h1(m: bytes) -> bytes:
    return hash_to_scalar(CONTEXT_STRING + b"rho" + m)


def h2(m: bytes) -> bytes:
    return hash_to_scalar(m)


def h3(m: bytes) -> bytes:
    return hash_to_scalar(CONTEXT_STRING + b"nonce" + m)


def h4(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT_STRING + b"msg" + m).digest()


def h5(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT_STRING + b"com" + m).digest()


# -- elements --------------------------------------------------------------------------------------
def deserialize_element(buf: bytes) -> bytes:
    """RFC 9591 §6.1 DeserializeElement: canonical, on the curve, in the prime-order subgroup, not
    the identity. Refusing small-order and torsioned points keeps a malicious party from steering
    the group key or a nonce commitment into the small subgroup."""
    if len(buf) != 32 or hmac.compare_digest(bytes(buf), _IDENTITY):
        raise GroupError("not a valid element")
    if not sodium.crypto_core_ed25519_is_valid_point(bytes(buf)):
        raise GroupError("not a valid element")
    return bytes(buf)


def _checked(point: bytes) -> bytes:
    # SerializeElement refuses the identity (RFC 9591 §6.1); a result that is the identity means
    # the inputs cancelled, which no honest run produces.
    if hmac.compare_digest(point, _IDENTITY):
        raise GroupError("identity element")
    return point


def add(a: bytes, b: bytes) -> bytes:
    return _checked(bytes(sodium.crypto_core_ed25519_add(a, b)))


def base_mult(k: bytes) -> bytes:
    """ScalarBaseMult(k) for a non-zero scalar."""
    try:
        return _checked(bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(k)))
    except RuntimeError as exc:  # libsodium refuses k = 0 (the identity)
        raise GroupError("identity element") from exc


def scalar_mult(point: bytes, k: bytes) -> bytes:
    """ScalarMult(point, k) for a validated element and a non-zero scalar."""
    try:
        return _checked(bytes(sodium.crypto_scalarmult_ed25519_noclamp(k, point)))
    except RuntimeError as exc:
        raise GroupError("identity element") from exc
