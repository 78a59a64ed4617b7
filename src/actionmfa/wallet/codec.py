"""Wire encodings for big integers and byte strings in wallet messages (base64url, no padding)."""

from __future__ import annotations

from actionmfa.crypto import b64u, b64u_decode

__all__ = ["b64_to_bytes", "b64_to_int", "b64_to_signed", "bytes_to_b64", "int_to_b64", "signed_to_b64"]

_MAX_B64_CHARS = 4096  # a 4096-bit N² is 683 chars; refuse anything absurd before decoding


def bytes_to_b64(data: bytes) -> str:
    return b64u(data)


def b64_to_bytes(text: str) -> bytes:
    if not isinstance(text, str) or len(text) > _MAX_B64_CHARS * 64:
        raise ValueError("bad base64 value")
    return b64u_decode(text)


def int_to_b64(value: int) -> str:
    if value < 0:
        raise ValueError("negative integer")
    return bytes_to_b64(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def b64_to_int(text: str) -> int:
    if not isinstance(text, str) or len(text) > _MAX_B64_CHARS:
        raise ValueError("bad base64 integer")
    return int.from_bytes(b64_to_bytes(text), "big")


def signed_to_b64(value: int) -> str:
    """A signed integer: a **mandatory** sign character (``+`` or ``-``) then the unsigned base64url
    magnitude. The sign is always present and always stripped, so a magnitude whose base64url text
    itself starts with ``-`` (a legal base64url character) can never be read as a sign."""
    return ("-" if value < 0 else "+") + int_to_b64(abs(value))


def b64_to_signed(text: str) -> int:
    if not isinstance(text, str) or len(text) < 2 or text[0] not in "+-":
        raise ValueError("bad signed integer")
    magnitude = b64_to_int(text[1:])
    if text[0] == "-":
        if magnitude == 0:
            raise ValueError("negative zero")
        return -magnitude
    return magnitude
