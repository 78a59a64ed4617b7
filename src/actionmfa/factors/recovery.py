"""Recovery codes (DESIGN §3): 10 codes of 10 characters, single use, stored as keyed hashes.

The alphabet leaves out look-alikes (0/O, 1/I/L, and U to avoid accidental words) so a code read
off paper is typed right; input is NFKC-normalised, stripped of surrounding whitespace and of
grouping spaces or hyphens, and upper-cased, so codes are accepted case-insensitively.
Each code carries log2(30^10) ≈ 49 bits; with the per-user lockout (DESIGN §8) guessing is hopeless.
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
COUNT = 10
LENGTH = 10
_MAX_INPUT = 64


def generate_codes(count: int = COUNT, length: int = LENGTH) -> list[str]:
    """``count`` distinct random codes of ``length`` characters from :data:`ALPHABET`."""
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if code not in codes:
            codes.append(code)
    return codes


def normalize_code(code: object) -> str | None:
    """The canonical form of a typed code, or ``None`` if it cannot be one."""
    if not isinstance(code, str) or len(code) > _MAX_INPUT:
        return None
    text = unicodedata.normalize("NFKC", code).strip().replace("-", "").replace(" ", "").upper()
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def hash_purpose(user_id: str) -> str:
    """The keyed-hash domain for one user's codes (a hash is useless for any other user)."""
    return f"recovery-code:{user_id}"
