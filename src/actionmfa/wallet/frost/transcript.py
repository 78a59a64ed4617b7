"""Context strings that bind FROST key-generation and refresh messages to one ceremony.

A proof of knowledge or a commitment made for one ceremony must not verify in another (a replayed
round-one package would otherwise let a party reuse someone else's polynomial). The context names
the protocol version, the purpose, the environment, the user, the wallet and the ceremony; the role
(identifier) is hashed beside it by the proof itself. Fields are length-prefixed so that no two
different tuples encode alike.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Role", "dkg_context", "refresh_context"]


class Role(IntEnum):
    """FROST participant identifiers of the two parties (RFC 9591 §3: non-zero scalars)."""

    USER = 1  # the SDK
    SERVER = 2


def _encode(*fields: str) -> bytes:
    out = bytearray()
    for f in fields:
        raw = f.encode()
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def dkg_context(*, environment_id: str, user_id: str, wallet_id: str, ceremony_id: str) -> bytes:
    return b"actionmfa/frost-ed25519/dkg/v1" + _encode(environment_id, user_id, wallet_id, ceremony_id)


def refresh_context(*, wallet_id: str, ceremony_id: str, key_version: int) -> bytes:
    return b"actionmfa/frost-ed25519/refresh/v1" + _encode(wallet_id, ceremony_id, str(key_version))
