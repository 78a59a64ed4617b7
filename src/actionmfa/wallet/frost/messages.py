"""Wire form of the FROST ceremonies' messages: elements and scalars as 64 hex characters.

Every decoder validates as it parses (DeserializeElement / DeserializeScalar of RFC 9591 §6.1) and
raises :class:`WalletProofInvalidError` for anything malformed, so a bad message is a typed 422.
"""

from __future__ import annotations

from typing import Any

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.dkg import DkgPackage, RefreshPackage, SchnorrPoK
from actionmfa.wallet.frost.group import GroupError
from actionmfa.wallet.frost.signing import SigningCommitments

__all__ = [
    "commitments_from_json",
    "commitments_to_json",
    "dkg_package_from_json",
    "dkg_package_to_json",
    "element_field",
    "refresh_package_from_json",
    "refresh_package_to_json",
    "scalar_field",
]


def _bad(what: str) -> WalletProofInvalidError:
    return WalletProofInvalidError(f"Malformed {what}")


def _hex32(data: Any, key: str) -> bytes:
    if not isinstance(data, dict):
        raise _bad("message")
    value = data.get(key)
    if not isinstance(value, str) or len(value) != 64:
        raise _bad(key)
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise _bad(key) from exc


def element_field(data: Any, key: str) -> bytes:
    try:
        return g.deserialize_element(_hex32(data, key))
    except GroupError as exc:
        raise _bad(key) from exc


def scalar_field(data: Any, key: str) -> bytes:
    try:
        return g.deserialize_scalar(_hex32(data, key))
    except GroupError as exc:
        raise _bad(key) from exc


def _identifier(data: Any, expected: int | None) -> int:
    value = data.get("identifier") if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value not in (1, 2):
        raise _bad("identifier")
    if expected is not None and value != expected:
        raise WalletProofInvalidError("Message from the wrong participant")
    return value


def _proof_to_json(p: SchnorrPoK) -> dict[str, str]:
    return {"R": p.big_r.hex(), "mu": p.mu.hex()}


def _proof_from_json(data: Any) -> SchnorrPoK:
    return SchnorrPoK(element_field(data, "R"), scalar_field(data, "mu"))


def dkg_package_to_json(p: DkgPackage) -> dict[str, Any]:
    return {"identifier": p.identifier, "commitment": [c.hex() for c in p.commitment],
            "proof": _proof_to_json(p.proof)}


def dkg_package_from_json(data: Any, *, expected: int | None = None) -> DkgPackage:
    ident = _identifier(data, expected)
    raw = data.get("commitment")
    if not isinstance(raw, list) or len(raw) != 2:
        raise _bad("commitment")
    phi = (element_field({"c": raw[0]}, "c"), element_field({"c": raw[1]}, "c"))
    return DkgPackage(ident, phi, _proof_from_json(data.get("proof")))


def refresh_package_to_json(p: RefreshPackage) -> dict[str, Any]:
    return {"identifier": p.identifier, "commitment": p.commitment.hex(), "proof": _proof_to_json(p.proof)}


def refresh_package_from_json(data: Any, *, expected: int | None = None) -> RefreshPackage:
    ident = _identifier(data, expected)
    return RefreshPackage(ident, element_field(data, "commitment"), _proof_from_json(data.get("proof")))


def commitments_to_json(c: SigningCommitments) -> dict[str, Any]:
    return {"identifier": c.identifier, "hiding": c.hiding.hex(), "binding": c.binding.hex()}


def commitments_from_json(data: Any, *, expected: int | None = None) -> SigningCommitments:
    return SigningCommitments(_identifier(data, expected), element_field(data, "hiding"),
                              element_field(data, "binding"))
