"""Linear combinations of secp256k1 points for the group equations of the Σ-protocols."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

from actionmfa.wallet.curve import ORDER, Point, add_points, point_mul

__all__ = ["Residues", "combo", "paillier_pow"]

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


class Residues:
    """Compare both sides of an equation modulo M — or, for a verifier who knows M's factorisation,
    modulo each prime-power factor with exponents reduced by its group order (CRT: equal modulo
    p^k and q^k iff equal modulo M). Only for units, which every caller checks first."""

    def __init__(self, parts: list[tuple[int, int | None]]) -> None:
        self.parts = [(mpz(m), mpz(o) if o is not None else None) for m, o in parts]

    @classmethod
    def plain(cls, modulus: int) -> Residues:
        return cls([(modulus, None)])

    @classmethod
    def factored(cls, p: int, q: int, power: int) -> Residues:
        """Modulo (p·q)^power, power 1 or 2 (orders p−1 or p·(p−1))."""
        if power == 1:
            return cls([(p, p - 1), (q, q - 1)])
        return cls([(p * p, p * (p - 1)), (q * q, q * (q - 1))])

    def equal(self, lhs: list[tuple[int, int]], rhs: list[tuple[int, int]]) -> bool:
        """∏ b_i^e_i on each side (pairs (base, exponent), negative exponents allowed)."""
        return all(_product(lhs, m, o) == _product(rhs, m, o) for m, o in self.parts)


def _product(terms: list[tuple[int, int]], modulus: mpz, order: mpz | None) -> mpz:
    acc = mpz(1)
    for base, exp in terms:
        e = exp % order if order is not None else exp
        acc = acc * gmpy2.powmod(mpz(base), e, modulus) % modulus
    return acc


def paillier_pow(n: int, n2: int, m: int) -> int:
    """``(1 + N)^m mod N²`` = ``1 + m·N mod N²`` (any integer m)."""
    return (1 + (m % n) * n) % n2
