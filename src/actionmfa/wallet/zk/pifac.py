"""Πfac — no small factors (CGGMP21, ePrint 2021/060, §C.5, Fig. 28).

Statement: ``N0 = p·q`` with ``p, q`` below ``√N0·2^(ℓ+ε)``, hence both above ``√N0 / 2^(ℓ+ε)``
(2^256 for a 2048-bit N0). Committed with the **verifier's** ring-Pedersen parameters ``(N̂, s, t)``:
``P = s^p t^μ``, ``Q = s^q t^ν``; the third equation ``Q^z1 · t^v = T · R^e`` with
``R = s^N0 · t^σ`` ties ``p·q`` to ``N0``. One challenge ``e ∈ ±q`` (binding of ring-Pedersen under
strong RSA for a prover that cannot factor N̂).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, b64_to_signed, int_to_b64, signed_to_b64
from actionmfa.wallet.curve import ORDER
from actionmfa.wallet.paillier import PaillierSecretKey
from actionmfa.wallet.transcript import Transcript, int_bytes
from actionmfa.wallet.zk.ring import Rand, RingParams
from actionmfa.wallet.zk.sizes import EPS, L, in_range

__all__ = ["FacProof"]

_TAG = b"pifac/v2"
_UNITS = ("P", "Q", "A", "B", "T")
_SIGNED = ("sigma", "z1", "z2", "w1", "w2", "v")


def _pm(rand: Rand, bound: int) -> int:
    """Uniform in ±bound."""
    return rand(2 * bound + 1) - bound


def _challenge(fs: Transcript, n0: int, ring: RingParams, units: tuple[int, ...], sigma: int) -> int:
    return fs.signed(ORDER, int_bytes(n0), *ring.statement(), *(int_bytes(u) for u in units), int_bytes(sigma))


@dataclass(frozen=True)
class FacProof:
    P: int
    Q: int
    A: int
    B: int
    T: int
    sigma: int
    z1: int
    z2: int
    w1: int
    w2: int
    v: int

    @classmethod
    def prove(cls, key: PaillierSecretKey, ring: RingParams, fs: Transcript, *,
              rand: Rand = secrets.randbelow) -> FacProof:
        p, q, n0, nh = key.p, key.q, key.n, ring.n
        root = int(gmpy2.isqrt(n0))
        alpha, beta = _pm(rand, root << (L + EPS)), _pm(rand, root << (L + EPS))
        mu, nu = _pm(rand, nh << L), _pm(rand, nh << L)
        sigma = _pm(rand, (n0 * nh) << L)
        r = _pm(rand, (n0 * nh) << (L + EPS))
        x, y = _pm(rand, nh << (L + EPS)), _pm(rand, nh << (L + EPS))
        big_p, big_q = ring.commit(p, mu), ring.commit(q, nu)
        a, b = ring.commit(alpha, x), ring.commit(beta, y)
        nhm = mpz(nh)
        t_ = int(gmpy2.powmod(mpz(big_q), alpha, nhm) * gmpy2.powmod(mpz(ring.t), r, nhm) % nhm)
        e = _challenge(fs, n0, ring, (big_p, big_q, a, b, t_), sigma)
        sigma_hat = sigma - nu * p
        return cls(big_p, big_q, a, b, t_, sigma, alpha + e * p, beta + e * q, x + e * mu, y + e * nu,
                   r + e * sigma_hat)

    def verify(self, n0: int, ring: RingParams, fs: Transcript) -> None:
        bad = WalletProofInvalidError("No-small-factor proof invalid")
        nh = mpz(ring.n)
        for u in (self.P, self.Q, self.A, self.B, self.T):
            if not 0 < u < ring.n or gmpy2.gcd(u, nh) != 1:
                raise bad
        root = int(gmpy2.isqrt(n0))
        bound_bits = L + EPS
        if abs(self.z1) > root << bound_bits or abs(self.z2) > root << bound_bits:
            raise bad
        if not in_range(self.sigma, (n0 * ring.n).bit_length() + L + 1):
            raise bad
        e = _challenge(fs, n0, ring, (self.P, self.Q, self.A, self.B, self.T), self.sigma)
        s, t = mpz(ring.s), mpz(ring.t)

        def pw(base: int | mpz, exp: int) -> mpz:
            return gmpy2.powmod(mpz(base), exp, nh)

        r = pw(s, n0) * pw(t, self.sigma) % nh
        if pw(s, self.z1) * pw(t, self.w1) % nh != self.A * pw(self.P, e) % nh:
            raise bad
        if pw(s, self.z2) * pw(t, self.w2) % nh != self.B * pw(self.Q, e) % nh:
            raise bad
        if pw(self.Q, self.z1) * pw(t, self.v) % nh != self.T * pw(r, e) % nh:
            raise bad

    def to_json(self) -> dict[str, str]:
        out = {k: int_to_b64(getattr(self, k)) for k in _UNITS}
        out.update({k: signed_to_b64(getattr(self, k)) for k in _SIGNED})
        return out

    @classmethod
    def from_json(cls, data: Any) -> FacProof:
        try:
            units = {k: b64_to_int(data[k]) for k in _UNITS}
            signed = {k: b64_to_signed(data[k]) for k in _SIGNED}
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed no-small-factor proof") from exc
        return cls(**units, **signed)
