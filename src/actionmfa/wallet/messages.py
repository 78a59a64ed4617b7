"""Wire messages of the two-party ECDSA ceremonies (:mod:`actionmfa.wallet.ecdsa2p`).

Frozen dataclasses with ``to_json``/``from_json``: scalars and points as hex (compressed points),
Paillier-sized integers as base64url. ``from_json`` raises :class:`WalletProofInvalidError` for any
malformed field, so a bad message is a typed 422, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import ORDER, Point, point_from_hex, point_to_hex
from actionmfa.wallet.keyproofs import CarriesProvenKey, ClientRing, EncryptedShare, KeyProof
from actionmfa.wallet.proofs import SchnorrProof
from actionmfa.wallet.zk.piaffg import AffgProof

__all__ = [
    "KeygenCommit",
    "KeygenOpen",
    "KeygenShare",
    "SignCommit",
    "SignNonce",
    "SignPartial",
    "SignReveal",
    "Signature",
]


def _bad(what: str) -> WalletProofInvalidError:
    return WalletProofInvalidError(f"Malformed {what}")


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _bad(key)
    return value


def _point(data: dict[str, Any], key: str) -> Point:
    try:
        return point_from_hex(_str(data, key))
    except ValueError as exc:
        raise _bad(key) from exc


def _bigint(data: dict[str, Any], key: str) -> int:
    try:
        return b64_to_int(_str(data, key))
    except ValueError as exc:
        raise _bad(key) from exc


def _hex32(data: dict[str, Any], key: str) -> bytes:
    try:
        raw = bytes.fromhex(_str(data, key))
    except ValueError as exc:
        raise _bad(key) from exc
    if len(raw) != 32:
        raise _bad(key)
    return raw


def _proof(data: dict[str, Any], key: str) -> SchnorrProof:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _bad(key)
    return SchnorrProof.from_json(value)


def _scalar(data: dict[str, Any], key: str, *, allow_zero: bool) -> int:
    """A secp256k1 scalar in hex: ``0 < value < n``, or ``0 <= value < n`` with ``allow_zero`` (a
    refresh's re-randomisation may be 0; a Shamir sub-share or a share never is)."""
    try:
        value = int(_str(data, key), 16)
    except ValueError as exc:
        raise _bad(key) from exc
    if not (0 if allow_zero else 1) <= value < ORDER:
        raise _bad(key)
    return value


# The field parsers, public for the messages of the other ceremonies (ecdsa2p, refresh, reshare).
field_error = _bad
str_field = _str
point_field = _point
bigint_field = _bigint
hex32_field = _hex32
proof_field = _proof
scalar_field = _scalar


# --- key generation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitMessage:
    """A hash commitment sent before the value it binds (key generation, refresh coin toss)."""

    commitment: bytes

    def to_json(self) -> dict[str, Any]:
        return {"commitment": self.commitment.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommitMessage:
        return cls(_hex32(data, "commitment"))


@dataclass(frozen=True)
class ShareProofMessage:
    """A Schnorr proof of knowledge of a party's new share: x2' with Q2' = x2'·G (the client's
    confirmation closing a refresh or a reshare)."""

    proof: SchnorrProof

    def to_json(self) -> dict[str, Any]:
        return {"proof": self.proof.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShareProofMessage:
        return cls(_proof(data, "proof"))


KeygenCommit = CommitMessage


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _bad(key)
    return value


def key_proof_field(data: dict[str, Any], key: str = "keyProof") -> KeyProof:
    return KeyProof.from_json(_dict(data, key))


def encrypted_share_field(data: dict[str, Any], key: str = "encryptedShare") -> EncryptedShare:
    return EncryptedShare.from_json(_dict(data, key))


def ring_field(data: dict[str, Any], key: str = "ring") -> ClientRing:
    return ClientRing.from_json(_dict(data, key))


@dataclass(frozen=True)
class KeygenShare:
    public_share: Point  # Q2
    proof: SchnorrProof
    ring: ClientRing

    def to_json(self) -> dict[str, Any]:
        return {"Q2": point_to_hex(self.public_share), "proof": self.proof.to_json(), "ring": self.ring.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeygenShare:
        return cls(_point(data, "Q2"), _proof(data, "proof"), ring_field(data))


@dataclass(frozen=True)
class KeygenOpen(CarriesProvenKey):
    public_share: Point  # Q1
    proof: SchnorrProof
    nonce: bytes
    key_proof: KeyProof
    encrypted_share: EncryptedShare

    def to_json(self) -> dict[str, Any]:
        return {
            "Q1": point_to_hex(self.public_share),
            "proof": self.proof.to_json(),
            "nonce": self.nonce.hex(),
            "keyProof": self.key_proof.to_json(),
            "encryptedShare": self.encrypted_share.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeygenOpen:
        return cls(_point(data, "Q1"), _proof(data, "proof"), _hex32(data, "nonce"), key_proof_field(data),
                   encrypted_share_field(data))


# --- signing --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignCommit:
    commitment: bytes

    def to_json(self) -> dict[str, Any]:
        return {"commitment": self.commitment.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignCommit:
        return cls(_hex32(data, "commitment"))


@dataclass(frozen=True)
class SignNonce:
    nonce_point: Point  # R2
    proof: SchnorrProof

    def to_json(self) -> dict[str, Any]:
        return {"R2": point_to_hex(self.nonce_point), "proof": self.proof.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignNonce:
        return cls(_point(data, "R2"), _proof(data, "proof"))


@dataclass(frozen=True)
class SignReveal:
    nonce_point: Point  # R1
    proof: SchnorrProof
    nonce: bytes

    def to_json(self) -> dict[str, Any]:
        return {"R1": point_to_hex(self.nonce_point), "proof": self.proof.to_json(), "nonce": self.nonce.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignReveal:
        return cls(_point(data, "R1"), _proof(data, "proof"), _hex32(data, "nonce"))


@dataclass(frozen=True)
class SignPartial:
    ciphertext: int
    proof: AffgProof | None  # required by the server; None only parses (and is refused)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"c": int_to_b64(self.ciphertext)}
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignPartial:
        proof = AffgProof.from_json(_dict(data, "proof")) if "proof" in data else None
        return cls(_bigint(data, "c"), proof)


@dataclass(frozen=True)
class Signature:
    """A low-s secp256k1 signature with its recovery parity ``v`` ∈ {0, 1}."""

    r: int
    s: int
    v: int

    def to_bytes(self) -> bytes:
        """65 bytes r ‖ s ‖ v with v ∈ {0, 1} (add 27 for EIP-191 style)."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])

    def to_json(self) -> dict[str, Any]:
        return {"r": format(self.r, "064x"), "s": format(self.s, "064x"), "v": self.v}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        v = data.get("v")
        if not isinstance(v, int) or v not in (0, 1):
            raise _bad("v")
        try:
            return cls(int(_str(data, "r"), 16), int(_str(data, "s"), 16), v)
        except ValueError as exc:
            raise _bad("signature") from exc
