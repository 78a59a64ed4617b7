"""The one Fiat–Shamir transcript of the wallet's proofs and commitments (issue 9 item 5).

Every hash that turns an interactive proof into a non-interactive one, and every commitment, is
taken over a :class:`Transcript`: a domain tag, the **party role** of the prover, and the ceremony
context — chain-independent ``kind``, **wallet id**, **ceremony id** and **key version** — then the
statement and the prover's first message. A proof made by the server therefore never verifies as
the client's (the role differs), and a proof from one ceremony, wallet or key version never
verifies in another (Fiat–Shamir with the statement and context in the hash: Bernhard, Pereira and
Warinschi, "How not to prove yourself", ASIACRYPT 2012 — the "strong" Fiat–Shamir transform).

Framing is unambiguous: every part is prefixed by its 4-byte length.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Role", "Transcript", "frame", "int_bytes", "session_id"]


class Role(StrEnum):
    """Who proves or commits: P1 is the server (holds the Paillier key), P2 the client or delegate."""

    SERVER = "P1-server"
    CLIENT = "P2-client"


def frame(*parts: bytes) -> bytes:
    """Length-prefixed concatenation (4 bytes, big-endian)."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def int_bytes(value: int) -> bytes:
    """A signed integer as bytes for hashing: a sign byte, then the magnitude (minimal, big-endian)."""
    mag = abs(value)
    return (b"-" if value < 0 else b"+") + mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "big")


def session_id(kind: str, *, wallet_id: str, ceremony_id: str, key_version: int, extra: Iterable[bytes] = ()) -> bytes:
    """The 32-byte context of one ceremony: kind, wallet id, ceremony id, key version (and extras,
    e.g. the digest being signed). Pooled Paillier-key proofs, made before any wallet exists, use
    kind ``paillier-key`` with the key's own id as ceremony id and key version 0."""
    parts = [b"actionmfa/session/v2", kind.encode(), wallet_id.encode(), ceremony_id.encode(),
             str(key_version).encode(), *extra]
    return hashlib.sha256(frame(*parts)).digest()


@dataclass(frozen=True)
class Transcript:
    """A Fiat–Shamir transcript: ``tag`` names the proof, ``sid`` is :func:`session_id`'s context."""

    tag: bytes
    sid: bytes
    role: Role

    def _stream(self, parts: Iterable[bytes], size: int) -> bytes:
        head = frame(b"actionmfa/fs/v2", self.tag, self.sid, self.role.value.encode())
        return hashlib.shake_256(head + frame(*parts)).digest(size)

    def digest(self, *parts: bytes) -> bytes:
        """32 bytes (commitments)."""
        return self._stream(parts, 32)

    def bits(self, count: int, *parts: bytes) -> list[int]:
        """``count`` challenge bits (Πmod, Πprm)."""
        raw = int.from_bytes(self._stream(parts, (count + 7) // 8), "big")
        return [(raw >> i) & 1 for i in range(count)]

    def below(self, bound: int, *parts: bytes, label: bytes = b"") -> int:
        """An integer uniform in ``[0, bound)`` up to 2^-128 (256 extra bits, reduced)."""
        size = (bound.bit_length() + 7) // 8 + 32
        return int.from_bytes(self._stream((*parts, b"below", label), size), "big") % bound

    def signed(self, bound: int, *parts: bytes) -> int:
        """An integer in ``(-bound, bound)`` (the ±q challenge of CGGMP21's Σ-protocols)."""
        return self.below(2 * bound - 1, *parts, label=b"signed") - (bound - 1)

    def units(self, modulus: int, count: int, *parts: bytes) -> list[int]:
        """``count`` elements of Z_modulus^* (Πmod's y_i), each from its own counter block."""
        out: list[int] = []
        i = 0
        while len(out) < count:
            y = self.below(modulus, *parts, label=b"unit" + i.to_bytes(4, "big"))
            i += 1
            if y and math.gcd(y, modulus) == 1:
                out.append(y)
        return out
