"""Ring-Pedersen parameters and Πprm (CGGMP21, ePrint 2021/060, §3.3 Def. 3.3 and §C.2, Fig. 17).

Ring-Pedersen parameters ``(N̂, s, t)`` with ``t`` a random square and ``s = t^λ`` make the integer
commitments ``s^m·t^r mod N̂`` that the range proofs (Πfac, Πlog*, Πaff-g) are built on. They belong
to the **verifier** of those proofs: binding holds for a prover who cannot factor N̂; hiding needs
``s ∈ ⟨t⟩``, which Πprm proves (knowledge of λ, 128 rounds of binary challenges, one Fiat–Shamir
hash over all of them).

* The server's parameters live on its Paillier modulus (``N̂ = N``, as in CGGMP21's auxiliary-info
  phase, Fig. 6) and are generated, with their Πprm, together with the pooled key.
* The client's parameters are its own RSA modulus, generated once per SDK process
  (:func:`generate_client_ring`): ordinary (not safe) primes, which only the client — their
  owner, the verifier they protect — relies on.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.paillier import PaillierSecretKey, generate_blum_prime
from actionmfa.wallet.transcript import Transcript, int_bytes
from actionmfa.wallet.zk.sizes import check_modulus

__all__ = ["PRM_ROUNDS", "PrmProof", "RingParams", "RingSecret", "generate_client_ring", "ring_from_paillier"]

PRM_ROUNDS = 128
_TAG = b"piprm/v2"
Rand = Callable[[int], int]


@dataclass(frozen=True)
class RingParams:
    """Public ring-Pedersen parameters ``(N̂, s, t)``."""

    n: int
    s: int
    t: int

    def statement(self) -> tuple[bytes, ...]:
        return (int_bytes(self.n), int_bytes(self.s), int_bytes(self.t))

    def commit(self, m: int, r: int) -> int:
        """``s^m · t^r mod N̂`` (negative exponents allowed)."""
        nn = mpz(self.n)
        return int(gmpy2.powmod(mpz(self.s), m, nn) * gmpy2.powmod(mpz(self.t), r, nn) % nn)

    def check(self) -> None:
        """Sizes and no small factors of N̂; s, t units other than ±1 (Πprm proves the rest)."""
        check_modulus(self.n)
        for v in (self.s, self.t):
            if not 1 < v < self.n - 1 or gmpy2.gcd(v, self.n) != 1:
                raise WalletProofInvalidError("Ring-Pedersen parameters invalid")

    def to_json(self) -> dict[str, str]:
        return {"N": int_to_b64(self.n), "s": int_to_b64(self.s), "t": int_to_b64(self.t)}

    @classmethod
    def from_json(cls, data: Any) -> RingParams:
        try:
            return cls(b64_to_int(data["N"]), b64_to_int(data["s"]), b64_to_int(data["t"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed ring-Pedersen parameters") from exc


@dataclass(frozen=True)
class RingSecret:
    """The trapdoor: the factors of N̂ and λ = log_t s. Its owner can shorten exponents mod φ(N̂)."""

    p: int
    q: int
    lam: int
    public: RingParams

    @property
    def phi(self) -> int:
        return (self.p - 1) * (self.q - 1)

    def to_json(self) -> dict[str, Any]:
        return {"p": int_to_b64(self.p), "q": int_to_b64(self.q), "lambda": int_to_b64(self.lam),
                "params": self.public.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> RingSecret:
        try:
            return cls(b64_to_int(data["p"]), b64_to_int(data["q"]), b64_to_int(data["lambda"]),
                       RingParams.from_json(data["params"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed ring-Pedersen secret") from exc


def _ring(p: int, q: int, rand: Rand) -> RingSecret:
    n = p * q
    phi = (p - 1) * (q - 1)
    while True:
        tau = rand(n - 3) + 2
        if gmpy2.gcd(tau, n) == 1:
            break
    t = int(gmpy2.powmod(tau, 2, n))
    lam = rand(phi - 1) + 1
    s = int(gmpy2.powmod(t, lam, n))
    return RingSecret(p, q, lam, RingParams(n, s, t))


def ring_from_paillier(key: PaillierSecretKey, *, rand: Rand = secrets.randbelow) -> RingSecret:
    """The server's parameters on its own Paillier modulus (CGGMP21 Fig. 6: N̂_i = N_i)."""
    return _ring(key.p, key.q, rand)


def generate_client_ring(bits: int = 2048) -> RingSecret:
    """Fresh parameters for a client (about 0.1–0.5 s for 2048 bits)."""
    half = bits // 2
    while True:
        p, q = generate_blum_prime(half), generate_blum_prime(half)
        if p != q and (p * q).bit_length() == bits:
            return _ring(int(p), int(q), secrets.randbelow)


@dataclass(frozen=True)
class PrmProof:
    """Πprm: ``A_i = t^a_i``, ``z_i = a_i + e_i·λ mod φ(N̂)``; checks ``t^z_i = A_i·s^e_i``."""

    a: tuple[int, ...]
    z: tuple[int, ...]

    @classmethod
    def prove(cls, secret: RingSecret, fs: Transcript, *, rand: Rand = secrets.randbelow,
              rounds: int = PRM_ROUNDS) -> PrmProof:
        pub, phi = secret.public, secret.phi
        p, q = mpz(secret.p), mpz(secret.q)
        q_inv_p = gmpy2.invert(q, p)
        t = mpz(pub.t)
        alphas = [rand(phi) for _ in range(rounds)]
        commitments = []
        for a in alphas:  # t^a by the CRT
            ap, aq = gmpy2.powmod(t % p, a % (p - 1), p), gmpy2.powmod(t % q, a % (q - 1), q)
            commitments.append(int(aq + ((ap - aq) * q_inv_p % p) * q))
        es = fs.bits(rounds, *pub.statement(), *(int_bytes(v) for v in commitments))
        return cls(tuple(commitments), tuple((a + e * secret.lam) % phi for a, e in zip(alphas, es, strict=True)))

    def verify(self, params: RingParams, fs: Transcript, *, rounds: int = PRM_ROUNDS) -> None:
        bad = WalletProofInvalidError("Ring-Pedersen parameter proof invalid")
        params.check()
        if len(self.a) != rounds or len(self.z) != rounds:
            raise bad
        n, s, t = mpz(params.n), mpz(params.s), mpz(params.t)
        es = fs.bits(rounds, *params.statement(), *(int_bytes(v) for v in self.a))
        for a_i, z_i, e_i in zip(self.a, self.z, es, strict=True):
            if not 0 < a_i < params.n or not 0 <= z_i < params.n:
                raise bad
            if gmpy2.powmod(t, z_i, n) != (a_i * s % n if e_i else a_i):
                raise bad

    def to_json(self) -> dict[str, Any]:
        return {"A": [int_to_b64(v) for v in self.a], "z": [int_to_b64(v) for v in self.z]}

    @classmethod
    def from_json(cls, data: Any) -> PrmProof:
        try:
            a, z = data["A"], data["z"]
            if not isinstance(a, list) or not isinstance(z, list) or len(a) > 4 * PRM_ROUNDS:
                raise TypeError("bad shape")
            return cls(tuple(b64_to_int(v) for v in a), tuple(b64_to_int(v) for v in z))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed ring-Pedersen parameter proof") from exc
