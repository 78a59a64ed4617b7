"""Πmod — the Paillier–Blum modulus proof of CGGMP21 (ePrint 2021/060, §C.1, Fig. 16).

Statement: ``N`` is a product of two primes ≡ 3 (mod 4) with ``gcd(N, φ(N)) = 1``. For each of
``m`` challenges ``y_i`` the prover gives an N-th root ``z_i`` of ``y_i`` (exists for every ``y`` iff
gcd(N, φ(N)) = 1) and a fourth root ``x_i`` of ``(-1)^a_i · w^b_i · y_i`` (exists for a quarter of
all ``y`` unless N is a Blum integer with (w|N) = -1). Each round halves a cheater's chance, so a
non-interactive proof needs m = 128 rounds for 128-bit soundness (the paper's m = 80 is for the
interactive setting; Fiat–Shamir lets a cheater grind the challenges).

The challenges come from :class:`~actionmfa.wallet.transcript.Transcript` (role, context, N, w).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.paillier import PaillierSecretKey
from actionmfa.wallet.transcript import Transcript, int_bytes

__all__ = ["MOD_PROOF_ROUNDS", "ModProof"]

MOD_PROOF_ROUNDS = 128
_TAG = b"pimod/v2"


def _challenges(fs: Transcript, n: int, w: int, rounds: int) -> list[int]:
    return fs.units(n, rounds, int_bytes(n), int_bytes(w))


def _crt(xp: mpz, xq: mpz, p: mpz, q: mpz, q_inv_p: mpz) -> int:
    return int(xq + ((xp - xq) * q_inv_p % p) * q)


@dataclass(frozen=True)
class ModProof:
    """Πmod, non-interactive: ``w`` and per round ``(x_i, a_i, b_i, z_i)``."""

    w: int
    x: tuple[int, ...]
    a: tuple[int, ...]
    b: tuple[int, ...]
    z: tuple[int, ...]

    @classmethod
    def prove(cls, key: PaillierSecretKey, fs: Transcript, *, rounds: int = MOD_PROOF_ROUNDS,
              w: int | None = None) -> ModProof:
        """``w`` may be fixed (known-answer vectors); otherwise a random element with (w|N) = -1."""
        p, q, n = mpz(key.p), mpz(key.q), mpz(key.n)
        if p % 4 != 3 or q % 4 != 3:
            raise ValueError("not a Blum modulus")
        if w is None:
            while True:
                w = secrets.randbelow(int(n) - 2) + 2
                if gmpy2.jacobi(w, n) == -1:
                    break
        elif gmpy2.jacobi(w, n) != -1:
            raise ValueError("w must have Jacobi symbol -1")
        ww = mpz(w)
        # A QR modulo a Blum prime has exactly one square root that is itself a QR, so
        # y^(((p+1)/4)^2) mod p is the principal fourth root.
        ep = ((p + 1) // 4) ** 2 % (p - 1)
        eq = ((q + 1) // 4) ** 2 % (q - 1)
        # z = y^(N^-1 mod φ(N)), by the CRT: exponents N^-1 mod (p-1) and mod (q-1).
        phi = (p - 1) * (q - 1)
        n_inv = gmpy2.invert(n, phi)
        dp, dq = n_inv % (p - 1), n_inv % (q - 1)
        q_inv_p = gmpy2.invert(q, p)
        xs: list[int] = []
        as_: list[int] = []
        bs: list[int] = []
        zs: list[int] = []
        for y_int in _challenges(fs, int(n), int(ww), rounds):
            y = mpz(y_int)
            for a_i, b_i in ((0, 0), (0, 1), (1, 0), (1, 1)):
                yy = y * ww % n if b_i else y
                if a_i:
                    yy = (n - yy) % n
                if gmpy2.legendre(yy % p, p) == 1 and gmpy2.legendre(yy % q, q) == 1:
                    xs.append(_crt(gmpy2.powmod(yy % p, ep, p), gmpy2.powmod(yy % q, eq, q), p, q, q_inv_p))
                    as_.append(a_i)
                    bs.append(b_i)
                    break
            else:  # impossible for a Blum modulus with (w|N) = -1
                raise ValueError("no fourth root found")
            zs.append(_crt(gmpy2.powmod(y % p, dp, p), gmpy2.powmod(y % q, dq, q), p, q, q_inv_p))
        return cls(int(ww), tuple(xs), tuple(as_), tuple(bs), tuple(zs))

    def verify(self, n: int, fs: Transcript, *, rounds: int = MOD_PROOF_ROUNDS) -> None:
        """Raise :class:`WalletProofInvalidError` unless the proof shows N is Paillier–Blum."""
        bad = WalletProofInvalidError("Paillier modulus proof invalid")
        nn = mpz(n)
        if nn < 3 or nn % 2 == 0 or gmpy2.is_prime(nn, 25):
            raise bad
        if not (len(self.x) == len(self.a) == len(self.b) == len(self.z) == rounds):
            raise bad
        w = mpz(self.w)
        if not 0 < w < nn or gmpy2.jacobi(w, nn) != -1:
            raise bad
        for y, x_i, a_i, b_i, z_i in zip(_challenges(fs, n, self.w, rounds), self.x, self.a, self.b, self.z,
                                         strict=True):
            if a_i not in (0, 1) or b_i not in (0, 1) or not 0 < x_i < n or not 0 < z_i < n:
                raise bad
            # z^N = y (mod N): N-th roots exist for all y only if gcd(N, φ(N)) = 1.
            if gmpy2.powmod(mpz(z_i), nn, nn) != y:
                raise bad
            # x^4 = (-1)^a · w^b · y (mod N): N is a Blum integer (with the Jacobi check on w).
            rhs = mpz(y) * (w if b_i else 1) % nn
            if a_i:
                rhs = (nn - rhs) % nn
            if gmpy2.powmod(mpz(x_i), 4, nn) != rhs:
                raise bad

    def to_json(self) -> dict[str, Any]:
        return {
            "w": int_to_b64(self.w),
            "x": [int_to_b64(v) for v in self.x],
            "a": "".join(str(v) for v in self.a),
            "b": "".join(str(v) for v in self.b),
            "z": [int_to_b64(v) for v in self.z],
        }

    @classmethod
    def from_json(cls, data: Any) -> ModProof:
        try:
            xs, zs, a_s, b_s = data["x"], data["z"], data["a"], data["b"]
            if not (isinstance(xs, list) and isinstance(zs, list) and isinstance(a_s, str)):
                raise TypeError("bad shape")
            if not isinstance(b_s, str) or not set(a_s + b_s) <= {"0", "1"} or len(xs) > 4 * MOD_PROOF_ROUNDS:
                raise TypeError("bad bits")
            return cls(
                b64_to_int(str(data["w"])),
                tuple(b64_to_int(str(v)) for v in xs),
                tuple(int(c) for c in a_s),
                tuple(int(c) for c in b_s),
                tuple(b64_to_int(str(v)) for v in zs),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise WalletProofInvalidError("Malformed Paillier modulus proof") from exc
