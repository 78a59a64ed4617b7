"""Πlog* — a Paillier ciphertext of a discrete logarithm, in range (CGGMP21, ePrint 2021/060,
§C.3, Fig. 25).

Statement: ``C = (1+N0)^x · ρ^N0 mod N0²``, ``X = x·g`` and ``|x| ≤ 2^(ℓ+ε)``, for the prover's
Paillier modulus ``N0`` and the **verifier's** ring-Pedersen parameters. This is the proof of the
encrypted key share: at key generation ``C = ckey``, ``X = Q1``, ``g = G`` (issue 9 item 1, and
the same for the ``ckey'`` of a refresh, a reshare and a delegate pair set-up, item 3). It plays the
role of Lindell 2017/552 §6's PDL proof with its range proof, in one round.

The slack: an honest ``x1 ∈ [0, q)`` is only proven ``|x̃1| ≤ 2^768``; the signing mask
(:data:`~actionmfa.wallet.zk.sizes.RHO_BITS`) and the server's centred decryption account for it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, b64_to_signed, int_to_b64, signed_to_b64
from actionmfa.wallet.curve import ORDER, Point, point_from_hex, point_to_hex
from actionmfa.wallet.paillier import PaillierPublicKey
from actionmfa.wallet.transcript import Transcript, int_bytes
from actionmfa.wallet.zk.group import combo, paillier_pow
from actionmfa.wallet.zk.ring import Rand, RingParams
from actionmfa.wallet.zk.sizes import EPS, L, in_range

__all__ = ["LogProof"]


def _pm(rand: Rand, bound: int) -> int:
    return rand(2 * bound + 1) - bound


def _challenge(fs: Transcript, pk: PaillierPublicKey, ring: RingParams, c: int, x: Point, g: Point,
               s: int, a: int, y: Point, d: int) -> int:
    return fs.signed(ORDER, int_bytes(pk.n), *ring.statement(), int_bytes(c), x.format(), g.format(),
                     int_bytes(s), int_bytes(a), y.format(), int_bytes(d))


@dataclass(frozen=True)
class LogProof:
    S: int
    A: int
    Y: Point
    D: int
    z1: int
    z2: int
    z3: int

    @classmethod
    def prove(cls, pk: PaillierPublicKey, ring: RingParams, fs: Transcript, *, c: int, x_point: Point, g: Point,
              x: int, rho: int, rand: Rand = secrets.randbelow, r: int | None = None) -> LogProof:
        """``rho`` is C's Paillier randomness; ``r`` (random if omitted) the mask's."""
        n, n2, nh = pk.n, pk.n_squared, ring.n
        alpha = _pm(rand, 1 << (L + EPS))
        mu = _pm(rand, nh << L)
        gamma = _pm(rand, nh << (L + EPS))
        if r is None:
            r = int(pk.random_unit())
        s = ring.commit(x, mu)
        a = int(paillier_pow(n, n2, alpha) * gmpy2.powmod(mpz(r), n, mpz(n2)) % n2)
        y = _point_of(combo((alpha, g)))
        d = ring.commit(alpha, gamma)
        e = _challenge(fs, pk, ring, c, x_point, g, s, a, y, d)
        z2 = int(mpz(r) * gmpy2.powmod(mpz(rho), e, mpz(n)) % n)
        return cls(s, a, y, d, alpha + e * x, z2, gamma + e * mu)

    def verify(self, pk: PaillierPublicKey, ring: RingParams, fs: Transcript, *, c: int, x_point: Point,
               g: Point) -> None:
        bad = WalletProofInvalidError("Encrypted-share proof invalid")
        n, n2, nh = pk.n, pk.n_squared, ring.n
        if not pk.is_ciphertext(c) or not pk.is_ciphertext(self.A):
            raise bad
        if not (0 < self.S < nh and 0 < self.D < nh and 0 < self.z2 < n) or gmpy2.gcd(self.z2, n) != 1:
            raise bad
        if not in_range(self.z1, L + EPS):
            raise bad
        e = _challenge(fs, pk, ring, c, x_point, g, self.S, self.A, self.Y, self.D)
        n2m = mpz(n2)
        lhs = paillier_pow(n, n2, self.z1) * gmpy2.powmod(mpz(self.z2), n, n2m) % n2m
        if lhs != self.A * gmpy2.powmod(mpz(c), e, n2m) % n2m:
            raise bad
        if combo((self.z1, g)) != combo((1, self.Y), (e, x_point)):
            raise bad
        nhm = mpz(nh)
        if ring.commit(self.z1, self.z3) != self.D * gmpy2.powmod(mpz(self.S), e, nhm) % nhm:
            raise bad

    def to_json(self) -> dict[str, str]:
        return {"S": int_to_b64(self.S), "A": int_to_b64(self.A), "Y": point_to_hex(self.Y),
                "D": int_to_b64(self.D), "z1": signed_to_b64(self.z1), "z2": int_to_b64(self.z2),
                "z3": signed_to_b64(self.z3)}

    @classmethod
    def from_json(cls, data: Any) -> LogProof:
        try:
            return cls(b64_to_int(data["S"]), b64_to_int(data["A"]), point_from_hex(data["Y"]),
                       b64_to_int(data["D"]), b64_to_signed(data["z1"]), b64_to_int(data["z2"]),
                       b64_to_signed(data["z3"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed encrypted-share proof") from exc


def _point_of(encoded: bytes) -> Point:
    if len(encoded) != 33:  # α ≡ 0 (mod q): probability 2^-256
        raise ValueError("degenerate mask")
    return Point(encoded)
