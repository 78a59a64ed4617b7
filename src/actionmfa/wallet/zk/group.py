"""Linear combinations of secp256k1 points for the group equations of the Σ-protocols."""

from __future__ import annotations

from actionmfa.wallet.curve import ORDER, Point, add_points, point_mul

__all__ = ["combo", "paillier_pow"]

_INFINITY = b"\x00"


def combo(*terms: tuple[int, Point]) -> bytes:
    """The compressed encoding of Σ k_i·P_i (scalars reduced mod q, negatives allowed), or a
    one-byte marker for the point at infinity, so that two sides can be compared as bytes."""
    points = [point_mul(p, k % ORDER) for k, p in terms if k % ORDER]
    if not points:
        return _INFINITY
    try:
        return bytes(add_points(*points).format())
    except ValueError:  # the sum is the point at infinity
        return _INFINITY


def paillier_pow(n: int, n2: int, m: int) -> int:
    """``(1 + N)^m mod N²`` = ``1 + m·N mod N²`` (any integer m)."""
    return (1 + (m % n) * n) % n2
