"""A party's FROST key share and the group key it belongs to; Ed25519 verification.

A 2-of-2 wallet has identifiers 1 (user) and 2 (server); party i holds s_i with the group secret
s = λ_1·s_1 + λ_2·s_2 = 2·s_1 − s_2 (Lagrange at zero over {1, 2}); neither party ever holds s. The
group public key PK = s·B is the wallet's Solana address (base58 of the 32-byte encoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.group import GroupError

__all__ = ["KeyShare", "verify_ed25519"]


@dataclass(frozen=True)
class KeyShare:
    """Party ``identifier``'s secret share, its public share, the peer's public share and PK."""

    identifier: int
    secret_share: bytes
    public_share: bytes
    peer_identifier: int
    peer_public_share: bytes
    group_public_key: bytes

    def public_share_of(self, identifier: int) -> bytes:
        if identifier == self.identifier:
            return self.public_share
        if identifier == self.peer_identifier:
            return self.peer_public_share
        raise GroupError("unknown participant")

    def to_json(self) -> dict[str, Any]:
        return {"i": self.identifier, "s": self.secret_share.hex(), "Y": self.public_share.hex(),
                "j": self.peer_identifier, "Yj": self.peer_public_share.hex(), "PK": self.group_public_key.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyShare:
        try:
            share = cls(int(data["i"]), g.deserialize_scalar(bytes.fromhex(data["s"])),
                        g.deserialize_element(bytes.fromhex(data["Y"])), int(data["j"]),
                        g.deserialize_element(bytes.fromhex(data["Yj"])),
                        g.deserialize_element(bytes.fromhex(data["PK"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise GroupError("malformed key share") from exc
        if g.base_mult(share.secret_share) != share.public_share:
            raise GroupError("key share does not match its public share")
        return share


def verify_ed25519(public_key: bytes, msg: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7 verification by an implementation independent of the signer (OpenSSL via
    ``cryptography``): what a Solana validator checks of the aggregate signature."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, msg)
    except (InvalidSignature, ValueError):
        return False
    return True
