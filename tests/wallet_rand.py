"""Deterministic randomness for the proofs' known-answer vectors: ``rand(bound)`` from SHAKE-256 of
a seed and a counter (256 extra bits, reduced), so that a vector fixes every random choice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable


def fixed_rand(seed: str) -> Callable[[int], int]:
    counter = 0

    def rand(bound: int) -> int:
        nonlocal counter
        counter += 1
        size = (bound.bit_length() + 7) // 8 + 32
        raw = hashlib.shake_256(f"{seed}/{counter}".encode()).digest(size)
        return int.from_bytes(raw, "big") % bound

    return rand
