"""Commitments and zero-knowledge proofs used by the two-party ECDSA ceremonies.

* :func:`commit` / :func:`verify_opening` — hash commitments ``SHA-256(tag ‖ sid ‖ nonce ‖ data)``.
* :class:`SchnorrProof` — non-interactive proof of knowledge of a discrete logarithm
  (Schnorr 1991 with Fiat–Shamir), bound to a session id so that it cannot be replayed elsewhere.
* :class:`ModProof` — Πmod, the Paillier–Blum modulus proof of CGGMP21 (ePrint 2021/060, Fig. 16):
  ``N`` is a product of two primes ≡ 3 (mod 4) with ``gcd(N, φ(N)) = 1``. It does **not** show that
  ``N`` has no small factors (Πfac) — see docs/wallet-security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import (
    ORDER,
    Point,
    add_points,
    base_mul,
    point_from_hex,
    point_mul,
    point_to_hex,
    random_scalar,
)
from actionmfa.wallet.paillier import PaillierSecretKey

__all__ = [
    "MOD_PROOF_ROUNDS",
    "Commitment",
    "ModProof",
    "SchnorrProof",
    "commit",
    "hash_to_scalar",
    "verify_opening",
]

MOD_PROOF_ROUNDS = 80  # soundness error 2^-80 (CGGMP21 uses m = 80)


def _frame(*parts: bytes) -> bytes:
    """Unambiguous concatenation: each part prefixed by its 4-byte length."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def hash_to_scalar(tag: bytes, *parts: bytes) -> int:
    """A 512-bit hash reduced mod q (bias < 2^-256)."""
    return int.from_bytes(hashlib.sha512(_frame(tag, *parts)).digest(), "big") % ORDER


# --- commitments ---------------------------------------------------------------------------------

_COMMIT_TAG = b"actionmfa/commit/v1"


@dataclass(frozen=True)
class Commitment:
    digest: bytes  # 32 bytes
    nonce: bytes  # 32 bytes, revealed on opening


def commit(sid: bytes, data: bytes) -> Commitment:
    nonce = secrets.token_bytes(32)
    return Commitment(hashlib.sha256(_frame(_COMMIT_TAG, sid, nonce, data)).digest(), nonce)


def verify_opening(sid: bytes, digest: bytes, nonce: bytes, data: bytes) -> None:
    expected = hashlib.sha256(_frame(_COMMIT_TAG, sid, nonce, data)).digest()
    if len(nonce) != 32 or not hmac.compare_digest(expected, digest):
        raise WalletProofInvalidError("Commitment opening does not match")


# --- Schnorr proof of knowledge -------------------------------------------------------------------

_SCHNORR_TAG = b"actionmfa/schnorr/v1"


@dataclass(frozen=True)
class SchnorrProof:
    """π = (A, z) with A = k·G, e = H(sid, X, A), z = k + e·x (mod q); checks z·G = A + e·X."""

    commitment: Point
    response: int

    @classmethod
    def prove(cls, sid: bytes, secret: int, public: Point) -> SchnorrProof:
        k = random_scalar()
        a = base_mul(k)
        e = cls._challenge(sid, public, a)
        return cls(a, (k + e * secret) % ORDER)

    def verify(self, sid: bytes, public: Point) -> None:
        e = self._challenge(sid, public, self.commitment)
        if not 0 < self.response < ORDER:
            raise WalletProofInvalidError("Schnorr proof invalid")
        lhs = base_mul(self.response)
        rhs = add_points(self.commitment, point_mul(public, e)) if e else self.commitment
        if lhs.format() != rhs.format():
            raise WalletProofInvalidError("Schnorr proof invalid")

    @staticmethod
    def _challenge(sid: bytes, public: Point, a: Point) -> int:
        return hash_to_scalar(_SCHNORR_TAG, sid, public.format(), a.format())

    def to_bytes(self) -> bytes:
        return self.commitment.format() + self.response.to_bytes(32, "big")

    def to_json(self) -> dict[str, str]:
        return {"A": point_to_hex(self.commitment), "z": format(self.response, "064x")}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> SchnorrProof:
        try:
            return cls(point_from_hex(data["A"]), int(data["z"], 16))
        except (KeyError, ValueError, TypeError) as exc:
            raise WalletProofInvalidError("Malformed Schnorr proof") from exc


# --- Πmod: Paillier–Blum modulus ------------------------------------------------------------------

_MOD_TAG = b"actionmfa/pimod/v1"


def _mod_challenges(n: int, w: int, context: bytes, rounds: int) -> list[mpz]:
    """y_1..y_m ∈ Z_N^* by Fiat–Shamir: SHAKE-256 over (context, N, w, i) with 128 extra bits."""
    nbytes = (n.bit_length() + 7) // 8 + 16
    n_b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    w_b = w.to_bytes(len(n_b), "big")
    out: list[mpz] = []
    i = 0
    while len(out) < rounds:
        raw = hashlib.shake_256(_frame(_MOD_TAG, context, n_b, w_b, i.to_bytes(4, "big"))).digest(nbytes)
        y = mpz(int.from_bytes(raw, "big")) % n
        i += 1
        if y != 0 and gmpy2.gcd(y, n) == 1:
            out.append(y)
    return out


@dataclass(frozen=True)
class ModProof:
    """Πmod (CGGMP21 Fig. 16), non-interactive, for ``rounds`` challenges."""

    w: int
    x: tuple[int, ...]
    a: tuple[int, ...]
    b: tuple[int, ...]
    z: tuple[int, ...]

    @classmethod
    def prove(cls, key: PaillierSecretKey, context: bytes, rounds: int = MOD_PROOF_ROUNDS) -> ModProof:
        p, q, n = mpz(key.p), mpz(key.q), mpz(key.n)
        if p % 4 != 3 or q % 4 != 3:
            raise ValueError("not a Blum modulus")
        # w with Jacobi symbol (w | N) = -1: a residue modulo exactly one of p, q.
        while True:
            w = mpz(secrets.randbelow(int(n) - 2) + 2)
            if gmpy2.jacobi(w, n) == -1:
                break
        phi = (p - 1) * (q - 1)
        n_inv = gmpy2.invert(n, phi)
        # A QR modulo a Blum prime has exactly one square root that is itself a QR, so
        # y^(((p+1)/4)^2) mod p is the principal fourth root.
        ep = ((p + 1) // 4) ** 2 % (p - 1)
        eq = ((q + 1) // 4) ** 2 % (q - 1)
        q_inv_p = gmpy2.invert(q, p)
        xs: list[int] = []
        as_: list[int] = []
        bs: list[int] = []
        zs: list[int] = []
        for y in _mod_challenges(int(n), int(w), context, rounds):
            found = False
            for a_i in (0, 1):
                for b_i in (0, 1):
                    yy = y
                    if b_i:
                        yy = yy * w % n
                    if a_i:
                        yy = (n - yy) % n
                    if gmpy2.legendre(yy % p, p) == 1 and gmpy2.legendre(yy % q, q) == 1:
                        xp = gmpy2.powmod(yy % p, ep, p)
                        xq = gmpy2.powmod(yy % q, eq, q)
                        xs.append(int(xq + ((xp - xq) * q_inv_p % p) * q))
                        as_.append(a_i)
                        bs.append(b_i)
                        found = True
                        break
                if found:
                    break
            if not found:  # impossible for a Blum modulus with (w|N) = -1
                raise ValueError("no fourth root found")
            zs.append(int(gmpy2.powmod(y, n_inv, n)))
        return cls(int(w), tuple(xs), tuple(as_), tuple(bs), tuple(zs))

    def verify(self, n: int, context: bytes, *, rounds: int = MOD_PROOF_ROUNDS) -> None:
        """Raise :class:`WalletProofInvalidError` unless the proof shows N is Paillier–Blum."""
        bad = WalletProofInvalidError("Paillier modulus proof invalid")
        nn = mpz(n)
        if nn < 3 or nn % 2 == 0 or gmpy2.is_prime(nn, 25):
            raise bad
        if len(self.x) != rounds or not (len(self.a) == len(self.b) == len(self.z) == rounds):
            raise bad
        w = mpz(self.w)
        if not 0 < w < nn or gmpy2.jacobi(w, nn) != -1:
            raise bad
        ys = _mod_challenges(n, self.w, context, rounds)
        for y, x_i, a_i, b_i, z_i in zip(ys, self.x, self.a, self.b, self.z, strict=True):
            if a_i not in (0, 1) or b_i not in (0, 1) or not 0 < x_i < n or not 0 < z_i < n:
                raise bad
            # z^N = y (mod N): N-th roots exist for all y only if gcd(N, φ(N)) = 1.
            if gmpy2.powmod(mpz(z_i), nn, nn) != y:
                raise bad
            # x^4 = (-1)^a · w^b · y (mod N): N is a Blum integer (with the Jacobi check on w).
            rhs = y * (w if b_i else 1) % nn
            if a_i:
                rhs = (nn - rhs) % nn
            if gmpy2.powmod(mpz(x_i), 4, nn) != rhs:
                raise bad

    def to_json(self) -> dict[str, object]:
        return {
            "w": int_to_b64(self.w),
            "x": [int_to_b64(v) for v in self.x],
            "a": "".join(str(v) for v in self.a),
            "b": "".join(str(v) for v in self.b),
            "z": [int_to_b64(v) for v in self.z],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ModProof:
        try:
            xs, zs, a_s, b_s = data["x"], data["z"], data["a"], data["b"]
            if not (isinstance(xs, list) and isinstance(zs, list) and isinstance(a_s, str)):
                raise TypeError("bad shape")
            if not isinstance(b_s, str) or not set(a_s + b_s) <= {"0", "1"}:
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
