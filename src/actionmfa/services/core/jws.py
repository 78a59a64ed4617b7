"""Verifying the ES256 compact JWS this server signs (RFC 7515 §5.2, RFC 7518 §3.4): session JWTs.

PyJWT checks each base64url segment character by character in Python, twice per request (once for
``get_unverified_header``, once for ``decode``): about a fifth of a TOTP authentication's CPU
(issue 15). This module does the same checks once, with the C parts of ``re``, ``base64`` and
``json``, and verifies the signature with ``cryptography``; PyJWT still signs.

It accepts only what this server issues, so there is nothing to negotiate: the algorithm is ES256
whatever the header says (a header naming another one is refused, RFC 8725 §3.1), the key is the
P-256 key the caller looked up by ``kid``, the signature is exactly 64 bytes (``r || s``), and
each segment must be canonical base64url without padding — no second base64 spelling of a token
(GHSA-hxm8-2xgr-2p9m: PyJWT refuses non-alphabet junk; so does this). ECDSA's own twin,
``(r, n − s)``, still verifies, as it does with PyJWT (the signer does not normalise ``s``): nothing
may key on a JWT's spelling for more than speed — the sessions' verified-JWT cache holds a twin as a
second entry, and the session row decides (``tests/api/test_redteam_session_jwt.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_TOKEN = 8192  # characters; this server's session JWTs are about 500
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class Compact:
    """A compact JWS split into its parts (each segment decoded, the header parsed), not verified."""

    __slots__ = ("header", "payload", "signature", "signing_input")

    def __init__(self, header: dict[str, Any], payload: bytes, signature: bytes, signing_input: bytes) -> None:
        self.header = header
        self.payload = payload
        self.signature = signature
        self.signing_input = signing_input


def _decode(segment: str) -> bytes | None:
    """A canonical unpadded base64url segment's bytes, or None."""
    if len(segment) % 4 == 1 or _SEGMENT.fullmatch(segment) is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        return None  # stray low bits in the last character: another spelling of the same bytes
    return raw


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
        return None
    return value if isinstance(value, dict) else None


def split(token: str) -> Compact | None:
    """The token's parts with its header decoded (a JSON object), or None if it is not a compact
    JWS in canonical base64url."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        return None
    header_segment, payload_segment, signature_segment = token.split(".")
    raw_header, payload, signature = _decode(header_segment), _decode(payload_segment), _decode(signature_segment)
    if raw_header is None or payload is None or signature is None:
        return None
    header = _json_object(raw_header)
    if header is None:
        return None
    # Both segments matched the base64url alphabet: ASCII.
    return Compact(header, payload, signature, f"{header_segment}.{payload_segment}".encode("ascii"))


def verify_es256(jws: Compact, key: ec.EllipticCurvePublicKey) -> dict[str, Any] | None:
    """The payload (a JSON object) if the header says ES256 and ``key`` signed the token, else None."""
    if jws.header.get("alg") != "ES256" or not isinstance(key.curve, ec.SECP256R1) or len(jws.signature) != 64:
        return None
    r, s = int.from_bytes(jws.signature[:32], "big"), int.from_bytes(jws.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), jws.signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return None
    return _json_object(jws.payload)
