"""secp256k1 scalars and points on coincurve (libsecp256k1), plus Ethereum addresses."""

from __future__ import annotations

import secrets

from coincurve import PublicKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

__all__ = [
    "HALF_ORDER",
    "ORDER",
    "Point",
    "add_points",
    "address_of",
    "base_mul",
    "point_from_hex",
    "point_mul",
    "point_to_hex",
    "point_x",
    "point_y",
    "random_scalar",
    "scalar_bytes",
]

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = ORDER // 2

Point = PublicKey


def random_scalar() -> int:
    """Uniform in [1, q)."""
    return secrets.randbelow(ORDER - 1) + 1


def scalar_bytes(k: int) -> bytes:
    return (k % ORDER).to_bytes(32, "big")


def base_mul(k: int) -> Point:
    """k·G (k must be non-zero mod q)."""
    return PublicKey.from_valid_secret(scalar_bytes(k))


def point_mul(point: Point, k: int) -> Point:
    return point.multiply(scalar_bytes(k))


def add_points(*points: Point) -> Point:
    return PublicKey.combine_keys(list(points))


def point_to_hex(point: Point) -> str:
    return point.format(compressed=True).hex()


def point_from_hex(text: str) -> Point:
    """Parse a compressed point; coincurve rejects anything not on the curve (ValueError)."""
    raw = bytes.fromhex(text)
    if len(raw) != 33:
        raise ValueError("expected a 33-byte compressed point")
    return PublicKey(raw)


def point_x(point: Point) -> int:
    return int(point.point()[0])


def point_y(point: Point) -> int:
    return int(point.point()[1])


def address_of(point: Point) -> str:
    """EIP-55 checksummed address of a public key: keccak(X ‖ Y)[12:]."""
    return str(to_checksum_address(keccak(point.format(compressed=False)[1:])[12:]))
