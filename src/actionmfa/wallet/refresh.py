"""Proactive refresh of a two-party wallet: coin-tossed re-randomisation plus a new Paillier key.

``x1' = x1 + ρ``, ``x2' = x2 − ρ`` with ``ρ = ρ1 + ρ2`` from a committed coin toss, so the key
``x`` and the address stay the same while both shares change. The server also switches to a **new
Paillier key** and re-encrypts ``ckey' = Enc_N'(x1')``: a homomorphic-only refresh under the old ``N``
lets whoever kept the old Paillier key and sees the new state recover ``x`` (wallet-crypto.md §5.B).

Three messages, then a confirmation so that the server switches only once the client holds ``x2'``::

    P1 → P2  RefreshCommit        com(ρ1)
    P2 → P1  RefreshContribution  ρ2, the client's ring-Pedersen parameters with Πprm
    P1 → P2  RefreshOpen          ρ1, opening, key proof for N' (Πmod, Πprm, Πfac), ckey' with Πlog*
                                  P2: N' ≠ N, x2' = x2 − ρ, Q1' = Q1 + ρ·G, ckey' encrypts log(Q1')
    P2 → P1  RefreshConfirm       Schnorr PoK of x2' for Q2' = Q − x1'·G   P1: switch to (x1', N')

The Πlog* of ``ckey'`` against ``Q1' = Q1 + ρ·G`` (a point the client computes itself) is what
issue 9 item 3 asks for ("a PDL proof of ckey' against Q1'"): no relation to the old ckey is needed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import ORDER, add_points, base_mul, point_mul
from actionmfa.wallet.ecdsa2p import ClientKeyShare, ServerKeyShare
from actionmfa.wallet.keyproofs import (
    CarriesProvenKey,
    ClientRing,
    EncryptedShare,
    KeyProof,
    PreparedPaillier,
    encrypt_share,
    prove_key,
    verify_key,
)
from actionmfa.wallet.messages import (
    CommitMessage,
    ShareProofMessage,
    encrypted_share_field,
    key_proof_field,
    ring_field,
    scalar_field,
)
from actionmfa.wallet.messages import hex32_field as _hex32
from actionmfa.wallet.proofs import SchnorrProof, commit, verify_opening
from actionmfa.wallet.transcript import Role, session_id
from actionmfa.wallet.zk.ring import RingParams
from actionmfa.wallet.zk.sizes import MIN_MODULUS_BITS

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
    return session_id("refresh", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=key_version)


def _scalar(data: dict[str, Any], key: str) -> int:
    return scalar_field(data, key, allow_zero=True)  # a re-randomisation (or the new x1) may be 0


RefreshCommit = CommitMessage


@dataclass(frozen=True)
class RefreshContribution:
    rho2: int
    ring: ClientRing

    def to_json(self) -> dict[str, Any]:
        return {"rho2": format(self.rho2, "064x"), "ring": self.ring.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshContribution:
        return cls(_scalar(data, "rho2"), ring_field(data))


@dataclass(frozen=True)
class RefreshOpen(CarriesProvenKey):
    rho1: int
    nonce: bytes
    key_proof: KeyProof
    encrypted_share: EncryptedShare

    def to_json(self) -> dict[str, Any]:
        return {
            "rho1": format(self.rho1, "064x"),
            "nonce": self.nonce.hex(),
            "keyProof": self.key_proof.to_json(),
            "encryptedShare": self.encrypted_share.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshOpen:
        return cls(_scalar(data, "rho1"), _hex32(data, "nonce"), key_proof_field(data), encrypted_share_field(data))


RefreshConfirm = ShareProofMessage


@dataclass(frozen=True)
class ServerRefreshState:
    sid: bytes
    rho1: int
    nonce: bytes
    prepared: PreparedPaillier
    new_x1: int | None = None  # known after the open round
    ckey: int | None = None  # ckey' sent in the open round

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.sid.hex(),
            "rho1": format(self.rho1, "064x"),
            "nonce": self.nonce.hex(),
            "prepared": self.prepared.to_json(),
        }
        if self.new_x1 is not None:
            out["x1"] = format(self.new_x1, "064x")
        if self.ckey is not None:
            out["ckey"] = int_to_b64(self.ckey)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerRefreshState:
        prepared = PreparedPaillier.from_json(data["prepared"])
        new_x1 = _scalar(data, "x1") if "x1" in data else None
        ckey = b64_to_int(data["ckey"]) if "ckey" in data else None
        return cls(_hex32(data, "sid"), _scalar(data, "rho1"), _hex32(data, "nonce"), prepared, new_x1, ckey)


@dataclass(frozen=True)
class ClientRefreshState:
    sid: bytes
    rho2: int
    commitment: bytes
    ring: RingParams


def server_refresh_begin(sid: bytes, prepared: PreparedPaillier) -> tuple[RefreshCommit, ServerRefreshState]:
    rho1 = secrets.randbelow(ORDER)
    com = commit(sid, rho1.to_bytes(32, "big"), role=Role.SERVER)
    return RefreshCommit(com.digest), ServerRefreshState(sid, rho1, com.nonce, prepared)


def client_refresh_respond(sid: bytes, message: RefreshCommit,
                           ring: ClientRing) -> tuple[RefreshContribution, ClientRefreshState]:
    rho2 = secrets.randbelow(ORDER)
    return RefreshContribution(rho2, ring), ClientRefreshState(sid, rho2, message.commitment, ring.params)


def server_refresh_open(share: ServerKeyShare, state: ServerRefreshState,
                        message: RefreshContribution) -> tuple[RefreshOpen, ServerRefreshState]:
    rho = (state.rho1 + message.rho2) % ORDER
    if rho == 0:  # probability 2^-256; refuse rather than keep the old shares
        raise WalletProofInvalidError("Degenerate refresh")
    new_x1 = (share.x1 + rho) % ORDER
    if new_x1 == 0:
        raise WalletProofInvalidError("Degenerate refresh")
    prepared = state.prepared
    if prepared.key.n == share.paillier.n:  # wallet-crypto.md §5.B: never keep the old Paillier key
        raise WalletProofInvalidError("A refresh needs a new Paillier key")
    client_ring = message.ring.params
    encrypted = encrypt_share(prepared, client_ring, state.sid, new_x1)
    opening = RefreshOpen(state.rho1, state.nonce, prove_key(prepared, client_ring, state.sid), encrypted)
    return opening, ServerRefreshState(state.sid, state.rho1, state.nonce, state.prepared, new_x1, encrypted.ckey)


def client_refresh_finish(
    share: ClientKeyShare, state: ClientRefreshState, message: RefreshOpen, *,
    min_modulus_bits: int = MIN_MODULUS_BITS,
) -> tuple[ClientKeyShare, RefreshConfirm]:
    """Check the opening, the new key (N' ≠ N, its proofs) and ckey' against Q1' = Q1 + ρ·G; the
    new share and its confirmation."""
    verify_opening(state.sid, state.commitment, message.nonce, message.rho1.to_bytes(32, "big"), role=Role.SERVER)
    rho = (message.rho1 + state.rho2) % ORDER
    new_x2 = (share.x2 - rho) % ORDER
    if rho == 0 or new_x2 == 0:
        raise WalletProofInvalidError("Degenerate refresh")
    new_q1 = add_points(share.server_public_share, base_mul(rho))
    new_q2 = base_mul(new_x2)
    if add_points(new_q1, new_q2).format() != share.public_key.format():
        raise WalletProofInvalidError("Refreshed shares do not add up to the wallet key")
    proven = verify_key(message.key_proof, message.encrypted_share, state.ring, state.sid, new_q1,
                        min_modulus_bits=min_modulus_bits, previous_n=share.paillier.n)
    new_share = ClientKeyShare(new_x2, share.public_key, new_q1, proven.paillier, proven.ckey, proven.ring)
    return new_share, RefreshConfirm(SchnorrProof.prove(state.sid, new_x2, new_q2, role=Role.CLIENT))


def server_refresh_confirm(share: ServerKeyShare, state: ServerRefreshState, message: RefreshConfirm) -> ServerKeyShare:
    """Switch to (x1', N') once the client proved it holds x2' with x1'·G + x2'·G = Q."""
    if state.new_x1 is None:
        raise WalletProofInvalidError("Refresh round out of order")
    try:
        new_q2 = add_points(share.public_key, point_mul(base_mul(state.new_x1), ORDER - 1))  # Q − x1'·G
    except ValueError as exc:  # the point at infinity: x2' = 0
        raise WalletProofInvalidError("Degenerate refresh") from exc
    message.proof.verify(state.sid, new_q2, role=Role.CLIENT)
    return ServerKeyShare(state.new_x1, state.prepared.key, share.public_key, state.prepared.ring, state.ckey)
