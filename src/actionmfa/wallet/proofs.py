"""Commitments and Schnorr proofs used by the two-party ECDSA ceremonies.

* :func:`commit` / :func:`verify_opening` — hash commitments over the ceremony transcript
  (:class:`~actionmfa.wallet.transcript.Transcript`: role, wallet, ceremony, key version), a nonce
  and the data.
* :class:`SchnorrProof` — non-interactive proof of knowledge of a discrete logarithm
  (Schnorr 1991 with Fiat–Shamir), bound to the session **and the prover's role**, so that the
  server's proof reflected back is never accepted as the client's.
* :class:`ModProof` — Πmod, now in :mod:`actionmfa.wallet.zk.pimod` (re-exported here).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from actionmfa.errors import WalletProofInvalidError
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
from actionmfa.wallet.transcript import Role, Transcript
from actionmfa.wallet.zk.pimod import MOD_PROOF_ROUNDS, ModProof

__all__ = [
    "MOD_PROOF_ROUNDS",
    "Commitment",
    "ModProof",
    "SchnorrProof",
    "commit",
    "verify_opening",
]



# --- commitments ---------------------------------------------------------------------------------

_COMMIT_TAG = b"commit/v2"


@dataclass(frozen=True)
class Commitment:
    digest: bytes  # 32 bytes
    nonce: bytes  # 32 bytes, revealed on opening


def commit(sid: bytes, data: bytes, *, role: Role) -> Commitment:
    """Commit ``data`` as ``role`` in session ``sid``."""
    nonce = secrets.token_bytes(32)
    return Commitment(Transcript(_COMMIT_TAG, sid, role).digest(nonce, data), nonce)


def verify_opening(sid: bytes, digest: bytes, nonce: bytes, data: bytes, *, role: Role) -> None:
    """Check an opening of a commitment made by ``role`` (the other party's role)."""
    expected = Transcript(_COMMIT_TAG, sid, role).digest(nonce, data)
    if len(nonce) != 32 or not hmac.compare_digest(expected, digest):
        raise WalletProofInvalidError("Commitment opening does not match")


# --- Schnorr proof of knowledge -------------------------------------------------------------------

_SCHNORR_TAG = b"schnorr/v2"


@dataclass(frozen=True)
class SchnorrProof:
    """π = (A, z) with A = k·G, e = H(sid, X, A), z = k + e·x (mod q); checks z·G = A + e·X."""

    commitment: Point
    response: int

    @classmethod
    def prove(cls, sid: bytes, secret: int, public: Point, *, role: Role, nonce: int | None = None) -> SchnorrProof:
        """``nonce`` fixes k (known-answer vectors only)."""
        k = nonce if nonce is not None else random_scalar()
        a = base_mul(k)
        e = cls._challenge(sid, role, public, a)
        return cls(a, (k + e * secret) % ORDER)

    def verify(self, sid: bytes, public: Point, *, role: Role) -> None:
        """``role`` is the prover's: the server checks ``Role.CLIENT`` proofs and vice versa."""
        e = self._challenge(sid, role, public, self.commitment)
        if not 0 < self.response < ORDER:
            raise WalletProofInvalidError("Schnorr proof invalid")
        lhs = base_mul(self.response)
        rhs = add_points(self.commitment, point_mul(public, e)) if e else self.commitment
        if lhs.format() != rhs.format():
            raise WalletProofInvalidError("Schnorr proof invalid")

    @staticmethod
    def _challenge(sid: bytes, role: Role, public: Point, a: Point) -> int:
        return Transcript(_SCHNORR_TAG, sid, role).below(ORDER, public.format(), a.format())

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


