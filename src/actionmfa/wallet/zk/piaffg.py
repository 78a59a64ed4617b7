"""The client's proof of its signing ciphertext — Πaff-g of CGGMP21 (ePrint 2021/060, §C.4, Fig. 15)
with both witnesses bound to group elements.

Statement, for the server's Paillier modulus ``N0``, its ring-Pedersen parameters (the verifier's,
on the same modulus as in CGGMP21 Fig. 6), ``C = ckey``, ``D = c3`` and the client's nonce ``R2``::

    D = C^x · (1+N0)^y · ρ^N0 mod N0²,   x·R2 = X,   y·R2 = Y,   |x| ≤ 2^(ℓ+ε),   |y| ≤ 2^(ℓ'+ε)

In the signing protocol (Lindell 2017/552 §3.3, additive variant) ``x = k2⁻¹·r`` and
``y = ρ·q + k2⁻¹·(m + r·x2)``; the server computes ``X = r·G`` and ``Y = m·G + r·Q2`` itself (Q2 =
Q − Q1), so the proof pins ``x`` and ``y`` modulo q to the only values that make a valid signature,
and the ranges keep the plaintext ``x̃1·x + y`` below N0/2. Πaff-g proves ``Y`` as a Paillier
ciphertext under the prover's key; here the prover has no Paillier key and ``Y`` is a point, as
``X`` is in Πaff-g and Πlog* (Fig. 25) — the same Σ-protocol with one more group equation.

The server checks this before it decrypts: with a valid proof the decrypted value gives a valid
signature, whatever the client chose, so a failure can no longer depend on x1 (the abort attack of
CVE-2023-33242 becomes impossible, and the lock stays as defence in depth).
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
from actionmfa.wallet.zk.group import Residues, combo, paillier_pow
from actionmfa.wallet.zk.ring import Rand, RingParams
from actionmfa.wallet.zk.sizes import EPS, L_SIGN_ADD, L, in_range

__all__ = ["AffgMask", "AffgProof"]

_UNSIGNED = ("A", "E", "S", "F", "T", "w")
_SIGNED = ("z1", "z2", "z3", "z4")


def _pm(rand: Rand, bound: int) -> int:
    return rand(2 * bound + 1) - bound


@dataclass(frozen=True)
class AffgMask:
    """Everything of the prover's first message that does not depend on the witness, for one
    ``(N0, ring, C)``: computed ahead of time (in the SDK's background pool), used exactly once."""

    c: int
    alpha: int
    beta: int
    gamma: int
    delta: int
    m: int
    mu: int
    r: int
    a: int  # C^α · (1+N0)^β · r^N0 mod N0²
    e: int  # s^α t^γ mod N̂
    f: int  # s^β t^δ mod N̂
    t_m: int  # t^m mod N̂
    t_mu: int  # t^μ mod N̂

    @classmethod
    def make(cls, pk: PaillierPublicKey, ring: RingParams, c: int, *, pair: tuple[int, int] | None = None,
             rand: Rand = secrets.randbelow) -> AffgMask:
        n, n2, nh = pk.n, pk.n_squared, ring.n
        alpha = _pm(rand, 1 << (L + EPS))
        beta = _pm(rand, 1 << (L_SIGN_ADD + EPS))
        gamma, delta = _pm(rand, nh << (L + EPS)), _pm(rand, nh << (L + EPS))
        m, mu = _pm(rand, nh << L), _pm(rand, nh << L)
        if pair is None:
            r = pk.random_unit()
            pair = (int(r), int(gmpy2.powmod(r, n, n2)))
        r_, rn = pair
        n2m, nhm = mpz(n2), mpz(nh)
        a = int(gmpy2.powmod(mpz(c), alpha, n2m) * paillier_pow(n, n2, beta) * rn % n2m)
        t = mpz(ring.t)
        return cls(c, alpha, beta, gamma, delta, m, mu, r_, a, ring.commit(alpha, gamma), ring.commit(beta, delta),
                   int(gmpy2.powmod(t, m, nhm)), int(gmpy2.powmod(t, mu, nhm)))


@dataclass(frozen=True)
class AffgProof:
    A: int
    Bx: Point
    By: Point
    E: int
    S: int
    F: int
    T: int
    z1: int
    z2: int
    z3: int
    z4: int
    w: int

    @staticmethod
    def _challenge(fs: Transcript, pk: PaillierPublicKey, ring: RingParams, c: int, d: int, base: Point,
                   x_pt: Point, y_pt: Point, first: tuple[int, Point, Point, int, int, int, int]) -> int:
        a, bx, by, e_, s, f, t = first
        return fs.signed(ORDER, int_bytes(pk.n), *ring.statement(), int_bytes(c), int_bytes(d), base.format(),
                         x_pt.format(), y_pt.format(), int_bytes(a), bx.format(), by.format(), int_bytes(e_),
                         int_bytes(s), int_bytes(f), int_bytes(t))

    @classmethod
    def prove(cls, pk: PaillierPublicKey, ring: RingParams, fs: Transcript, *, c: int, d: int, base: Point,
              x_pt: Point, y_pt: Point, x: int, y: int, rho: int, mask: AffgMask | None = None,
              rand: Rand = secrets.randbelow) -> AffgProof:
        """``rho`` is the randomness of ``Enc(y)`` inside D; ``mask`` the precomputed witness-free
        part (:meth:`AffgMask.make`), made here if omitted. Online cost: ``s^x``, ``s^y``, two
        point multiplications and the hash."""
        if mask is None:
            mask = AffgMask.make(pk, ring, c, rand=rand)
        if mask.c != c:
            raise ValueError("mask made for another ciphertext")
        n, nh = pk.n, ring.n
        nhm, s_ = mpz(nh), mpz(ring.s)
        bx, by = _point(combo((mask.alpha, base))), _point(combo((mask.beta, base)))
        s = int(gmpy2.powmod(s_, x, nhm) * mask.t_m % nhm)
        t = int(gmpy2.powmod(s_, y, nhm) * mask.t_mu % nhm)
        e = cls._challenge(fs, pk, ring, c, d, base, x_pt, y_pt, (mask.a, bx, by, mask.e, s, mask.f, t))
        w = int(mpz(mask.r) * gmpy2.powmod(mpz(rho), e, mpz(n)) % n)
        return cls(mask.a, bx, by, mask.e, s, mask.f, t, mask.alpha + e * x, mask.beta + e * y, mask.gamma + e * mask.m,
                   mask.delta + e * mask.mu, w)

    def verify(self, pk: PaillierPublicKey, ring: RingParams, fs: Transcript, *, c: int, d: int, base: Point,
               x_pt: Point, y_pt: Point, factors: tuple[int, int] | None = None) -> None:
        """``factors``: the verifier's own (p, q) of N = N̂ (the server), for CRT arithmetic."""
        bad = WalletProofInvalidError("Signing ciphertext proof invalid")
        n, n2, nh = pk.n, pk.n_squared, ring.n
        if not pk.is_ciphertext(d) or not pk.is_ciphertext(self.A):
            raise bad
        for u in (self.E, self.S, self.F, self.T):
            if not 0 < u < nh or gmpy2.gcd(u, nh) != 1:
                raise bad
        if not 0 < self.w < n or gmpy2.gcd(self.w, n) != 1:
            raise bad
        if not in_range(self.z1, L + EPS) or not in_range(self.z2, L_SIGN_ADD + EPS):
            raise bad
        e = self._challenge(fs, pk, ring, c, d, base, x_pt, y_pt,
                            (self.A, self.Bx, self.By, self.E, self.S, self.F, self.T))
        if combo((self.z1, base)) != combo((1, self.Bx), (e, x_pt)):
            raise bad
        if combo((self.z2, base)) != combo((1, self.By), (e, y_pt)):
            raise bad
        own = factors is not None and factors[0] * factors[1] == n == nh
        mod2 = Residues.factored(*factors, 2) if own and factors else Residues.plain(n2)
        mod1 = Residues.factored(*factors, 1) if own and factors else Residues.plain(nh)
        if not mod2.equal([(c, self.z1), (paillier_pow(n, n2, self.z2), 1), (self.w, n)], [(self.A, 1), (d, e)]):
            raise bad
        if not mod1.equal([(ring.s, self.z1), (ring.t, self.z3)], [(self.E, 1), (self.S, e)]):
            raise bad
        if not mod1.equal([(ring.s, self.z2), (ring.t, self.z4)], [(self.F, 1), (self.T, e)]):
            raise bad

    def to_json(self) -> dict[str, str]:
        out = {k: int_to_b64(getattr(self, k)) for k in _UNSIGNED}
        out.update({k: signed_to_b64(getattr(self, k)) for k in _SIGNED})
        out.update({"Bx": point_to_hex(self.Bx), "By": point_to_hex(self.By)})
        return out

    @classmethod
    def from_json(cls, data: Any) -> AffgProof:
        try:
            u = {k: b64_to_int(data[k]) for k in _UNSIGNED}
            z = {k: b64_to_signed(data[k]) for k in _SIGNED}
            bx, by = point_from_hex(data["Bx"]), point_from_hex(data["By"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed signing ciphertext proof") from exc
        return cls(u["A"], bx, by, u["E"], u["S"], u["F"], u["T"], z["z1"], z["z2"], z["z3"], z["z4"], u["w"])


def _point(encoded: bytes) -> Point:
    if len(encoded) != 33:
        raise ValueError("degenerate mask")
    return Point(encoded)
