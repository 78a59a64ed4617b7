"""TOTP (RFC 6238) over pyotp, with an injected clock and replay refusal.

Parameters are RFC 6238's defaults (§4, §5.2): HMAC-SHA-1, 6 digits, 30-second steps from the Unix
epoch, and the current step ±1 accepted for clock drift. :func:`verify` returns the *time step* that
matched, so the caller can store it and refuse that step and every earlier one the next time
(RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP"). Storing the
step — not the code — also refuses an older code still inside the window after a newer one was used.

Input is NFKC-normalised (so full-width digits typed on some keyboards work, as in pyotp) and then
must be exactly six ASCII digits; anything else (other scripts' digits, control characters, very
long strings) is simply not a code. This module is pure: no web, no database.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import pyotp

from actionmfa.crypto import constant_time_equal

DIGITS = 6
PERIOD = 30
WINDOW = 1
SECRET_BYTES = 20  # 160 bits: RFC 4226 §4 recommends the HMAC-SHA-1 output length.
_MAX_INPUT = 64  # longer input is refused before any normalisation work

DigestFactory = Callable[..., Any]


def generate_secret() -> str:
    """A fresh base32 secret (160 random bits, no padding)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def time_step(at: datetime, *, period: int = PERIOD) -> int:
    """RFC 6238 §4.2: T = floor((unix time - T0) / X) with T0 = 0."""
    return int(at.timestamp()) // period


def code_at_step(
    secret: str, step: int, *, digits: int = DIGITS, digest: DigestFactory = hashlib.sha1
) -> str:
    """The code for one time step (HOTP of the step counter, RFC 4226 §5.3)."""
    return pyotp.TOTP(secret, digits=digits, digest=digest, interval=PERIOD).generate_otp(step)


def code_at(
    secret: str,
    at: datetime,
    *,
    digits: int = DIGITS,
    digest: DigestFactory = hashlib.sha1,
    period: int = PERIOD,
) -> str:
    return code_at_step(secret, time_step(at, period=period), digits=digits, digest=digest)


def normalize_code(code: object, *, digits: int = DIGITS) -> str | None:
    """NFKC-normalise and strip surrounding whitespace; ``None`` unless exactly ``digits`` ASCII digits."""
    if not isinstance(code, str) or len(code) > _MAX_INPUT:
        return None
    text = unicodedata.normalize("NFKC", code).strip()
    if len(text) != digits or not all("0" <= ch <= "9" for ch in text):
        return None
    return text


def matched_step(secret: str, code: object, *, at: datetime, window: int = WINDOW) -> int | None:
    """The time step in ``at`` ± ``window`` whose code is ``code`` (ignoring replay), or ``None``.

    Every candidate in the window is compared in constant time and the loop does not stop early,
    so timing does not tell which step matched.
    """
    normalized = normalize_code(code)
    if normalized is None:
        return None
    now_step = time_step(at)
    otp = pyotp.TOTP(secret, digits=DIGITS, digest=hashlib.sha1, interval=PERIOD)  # one per check, not per step
    matched: int | None = None
    for step in range(now_step - window, now_step + window + 1):
        if step < 0:
            continue
        if constant_time_equal(otp.generate_otp(step), normalized) and matched is None:
            matched = step
    return matched


def verify(
    secret: str, code: object, *, at: datetime, last_step: int | None, window: int = WINDOW
) -> int | None:
    """Check ``code`` at ``at`` ± ``window`` steps; return the matched step, or ``None``.

    A step at or below ``last_step`` (the last accepted one for this device) never matches, so a
    code is accepted at most once (RFC 6238 §5.2); a caller that wants to tell a reused code apart
    compares :func:`matched_step` with ``last_step`` itself.
    """
    matched = matched_step(secret, code, at=at, window=window)
    if matched is None or (last_step is not None and matched <= last_step):
        return None
    return matched


def seconds_until_step(step: int, *, at: datetime, period: int = PERIOD) -> int:
    """Whole seconds from ``at`` until time step ``step`` begins (0 if it has)."""
    return max(0, step * period - int(at.timestamp()))


def provisioning_uri(secret: str, *, issuer: str, label: str) -> str:
    """``otpauth://totp/ISSUER:LABEL?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30``.

    Key Uri Format (Google Authenticator wiki): the label is ``issuer:account``, percent-encoded,
    and the ``issuer`` parameter repeats the issuer.
    """
    path = quote(f"{issuer}:{label}", safe="")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": PERIOD},
        quote_via=quote,
    )
    return f"otpauth://totp/{path}?{query}"
