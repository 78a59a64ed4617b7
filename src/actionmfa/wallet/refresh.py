"""Proactive refresh of a two-party wallet: coin-tossed re-randomisation plus a new Paillier key.

``x1' = x1 + ρ``, ``x2' = x2 − ρ`` with ``ρ = ρ1 + ρ2`` from a committed coin toss, so the key
``x`` and the address stay the same while both shares change. The server also switches to a **new
Paillier key** and re-encrypts ``ckey' = Enc_N'(x1')``: a homomorphic-only refresh under the old ``N``
lets whoever kept the old Paillier key and sees the new state recover ``x`` (wallet-crypto.md §5.B).

Three messages, then a confirmation so that the server switches only once the client holds ``x2'``::

    P1 → P2  RefreshCommit        com(ρ1)
    P2 → P1  RefreshContribution  ρ2
    P1 → P2  RefreshOpen          ρ1, opening, N', Πmod(N'), ckey'      P2: x2' = x2 − ρ, Q1' = Q1 + ρ·G
    P2 → P1  RefreshConfirm       Schnorr PoK of x2' for Q2' = Q − x1'·G   P1: switch to (x1', N')

Not proven (as at key generation): that ``ckey'`` encrypts ``x1'`` (no PDL proof) and the relation
between the old and the new ``ckey``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import ORDER, add_points, base_mul, point_mul
from actionmfa.wallet.ecdsa2p import (
    MOD_PROOF_CONTEXT,
    ClientKeyShare,
    PreparedPaillier,
    ServerKeyShare,
    check_paillier_public,
)
from actionmfa.wallet.messages import CommitMessage, ShareProofMessage, scalar_field
from actionmfa.wallet.messages import field_error as _bad
from actionmfa.wallet.messages import hex32_field as _hex32
from actionmfa.wallet.messages import str_field as _str
from actionmfa.wallet.paillier import DEFAULT_MODULUS_BITS, PaillierPublicKey, PaillierSecretKey
from actionmfa.wallet.proofs import ModProof, SchnorrProof, commit, verify_opening

__all__ = [
    "ClientRefreshState",
    "RefreshCommit",
    "RefreshConfirm",
    "RefreshContribution",
    "RefreshOpen",
    "ServerRefreshState",
    "client_refresh_finish",
    "client_refresh_respond",
    "refresh_session_id",
    "server_refresh_begin",
    "server_refresh_confirm",
    "server_refresh_open",
]


def refresh_session_id(wallet_id: str, ceremony_id: str, key_version: int) -> bytes:
    parts = (b"actionmfa/refresh/v1", wallet_id.encode(), ceremony_id.encode(), str(key_version).encode())
    return hashlib.sha256(b"".join(len(p).to_bytes(4, "big") + p for p in parts)).digest()


def _scalar(data: dict[str, Any], key: str) -> int:
    return scalar_field(data, key, allow_zero=True)  # a re-randomisation (or the new x1) may be 0


RefreshCommit = CommitMessage


@dataclass(frozen=True)
class RefreshContribution:
    rho2: int

    def to_json(self) -> dict[str, Any]:
        return {"rho2": format(self.rho2, "064x")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshContribution:
        return cls(_scalar(data, "rho2"))


@dataclass(frozen=True)
class RefreshOpen:
    rho1: int
    nonce: bytes
    paillier_n: int
    ckey: int
    mod_proof: ModProof

    def to_json(self) -> dict[str, Any]:
        return {
            "rho1": format(self.rho1, "064x"),
            "nonce": self.nonce.hex(),
            "N": int_to_b64(self.paillier_n),
            "ckey": int_to_b64(self.ckey),
            "modProof": self.mod_proof.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshOpen:
        mod = data.get("modProof")
        if not isinstance(mod, dict):
            raise _bad("modProof")
        try:
            n, ckey = b64_to_int(_str(data, "N")), b64_to_int(_str(data, "ckey"))
        except ValueError as exc:
            raise _bad("N") from exc
        return cls(_scalar(data, "rho1"), _hex32(data, "nonce"), n, ckey, ModProof.from_json(mod))


RefreshConfirm = ShareProofMessage


@dataclass(frozen=True)
class ServerRefreshState:
    sid: bytes
    rho1: int
    nonce: bytes
    prepared: PreparedPaillier
    new_x1: int | None = None  # known after the open round

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.sid.hex(),
            "rho1": format(self.rho1, "064x"),
            "nonce": self.nonce.hex(),
            "paillier": self.prepared.key.to_json(),
            "modProof": self.prepared.mod_proof.to_json(),
        }
        if self.new_x1 is not None:
            out["x1"] = format(self.new_x1, "064x")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerRefreshState:
        prepared = PreparedPaillier(PaillierSecretKey.from_json(data["paillier"]), ModProof.from_json(data["modProof"]))
        new_x1 = _scalar(data, "x1") if "x1" in data else None
        return cls(_hex32(data, "sid"), _scalar(data, "rho1"), _hex32(data, "nonce"), prepared, new_x1)


@dataclass(frozen=True)
class ClientRefreshState:
    sid: bytes
    rho2: int
    commitment: bytes


def server_refresh_begin(sid: bytes, prepared: PreparedPaillier) -> tuple[RefreshCommit, ServerRefreshState]:
    rho1 = secrets.randbelow(ORDER)
    com = commit(sid, rho1.to_bytes(32, "big"))
    return RefreshCommit(com.digest), ServerRefreshState(sid, rho1, com.nonce, prepared)


def client_refresh_respond(sid: bytes, message: RefreshCommit) -> tuple[RefreshContribution, ClientRefreshState]:
    rho2 = secrets.randbelow(ORDER)
    return RefreshContribution(rho2), ClientRefreshState(sid, rho2, message.commitment)


def server_refresh_open(share: ServerKeyShare, state: ServerRefreshState,
                        message: RefreshContribution) -> tuple[RefreshOpen, ServerRefreshState]:
    rho = (state.rho1 + message.rho2) % ORDER
    if rho == 0:  # probability 2^-256; refuse rather than keep the old shares
        raise WalletProofInvalidError("Degenerate refresh")
    new_x1 = (share.x1 + rho) % ORDER
    if new_x1 == 0:
        raise WalletProofInvalidError("Degenerate refresh")
    key = state.prepared.key
    opening = RefreshOpen(state.rho1, state.nonce, key.n, key.public.encrypt(new_x1), state.prepared.mod_proof)
    return opening, ServerRefreshState(state.sid, state.rho1, state.nonce, state.prepared, new_x1)


def client_refresh_finish(
    share: ClientKeyShare, state: ClientRefreshState, message: RefreshOpen, *,
    min_modulus_bits: int = DEFAULT_MODULUS_BITS,
) -> tuple[ClientKeyShare, RefreshConfirm]:
    """Check the opening and the new modulus; the new share and its confirmation."""
    verify_opening(state.sid, state.commitment, message.nonce, message.rho1.to_bytes(32, "big"))
    check_paillier_public(message.paillier_n, message.ckey, min_modulus_bits=min_modulus_bits)
    message.mod_proof.verify(message.paillier_n, MOD_PROOF_CONTEXT)
    rho = (message.rho1 + state.rho2) % ORDER
    new_x2 = (share.x2 - rho) % ORDER
    if rho == 0 or new_x2 == 0:
        raise WalletProofInvalidError("Degenerate refresh")
    new_q1 = add_points(share.server_public_share, base_mul(rho))
    new_q2 = base_mul(new_x2)
    if add_points(new_q1, new_q2).format() != share.public_key.format():
        raise WalletProofInvalidError("Refreshed shares do not add up to the wallet key")
    new_share = ClientKeyShare(new_x2, share.public_key, new_q1, PaillierPublicKey(message.paillier_n), message.ckey)
    return new_share, RefreshConfirm(SchnorrProof.prove(state.sid, new_x2, new_q2))


def server_refresh_confirm(share: ServerKeyShare, state: ServerRefreshState, message: RefreshConfirm) -> ServerKeyShare:
    """Switch to (x1', N') once the client proved it holds x2' with x1'·G + x2'·G = Q."""
    if state.new_x1 is None:
        raise WalletProofInvalidError("Refresh round out of order")
    try:
        new_q2 = add_points(share.public_key, point_mul(base_mul(state.new_x1), ORDER - 1))  # Q − x1'·G
    except ValueError as exc:  # the point at infinity: x2' = 0
        raise WalletProofInvalidError("Degenerate refresh") from exc
    message.proof.verify(state.sid, new_q2)
    return ServerKeyShare(state.new_x1, state.prepared.key, share.public_key)
