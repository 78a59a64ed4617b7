"""TOTP factor: RFC 6238 Appendix B, oathtool cross-check, window and replay edges (frozen time)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from actionmfa.factors import totp

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "rfc6238_appendix_b.json").read_text())
DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32("12345678901234567890")


def _b32(seed: str) -> str:
    return base64.b32encode(seed.encode()).decode().rstrip("=")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['mode']}-{v['time']}")
def test_rfc6238_appendix_b(vector: dict[str, str]) -> None:
    at = datetime.fromtimestamp(int(vector["time"]), UTC)
    assert totp.time_step(at) == int(vector["step"], 16)
    secret = _b32(VECTORS["seeds"][vector["mode"]])
    assert totp.code_at(secret, at, digits=8, digest=DIGESTS[vector["mode"]]) == vector["totp"]


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="oathtool not installed")
@pytest.mark.parametrize("epoch", [0, 59, 1111111109, 1234567890, 1700000000, 2000000000])
def test_codes_match_oathtool(epoch: int) -> None:
    secret = totp.generate_secret()
    when = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = subprocess.run(
        ["oathtool", "--totp", "-b", "--now", when, secret], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert totp.code_at(secret, datetime.fromtimestamp(epoch, UTC)) == out


def test_secret_is_160_bit_base32() -> None:
    secret = totp.generate_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20


T0 = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)  # a step boundary (epoch divisible by 30)


def test_window_accepts_previous_current_next_step_only() -> None:
    step = totp.time_step(T0)
    for delta in (-1, 0, 1):
        code = totp.code_at_step(SECRET, step + delta)
        assert totp.verify(SECRET, code, at=T0, last_step=None) == step + delta
    for delta in (-2, 2):
        code = totp.code_at_step(SECRET, step + delta)
        assert totp.verify(SECRET, code, at=T0, last_step=None) is None


def test_window_edges_by_second() -> None:
    step = totp.time_step(T0)
    code = totp.code_at_step(SECRET, step)
    # valid from the start of step-1's neighbour … to the last second of step+1
    assert totp.verify(SECRET, code, at=T0 - timedelta(seconds=30), last_step=None) == step
    assert totp.verify(SECRET, code, at=T0 - timedelta(seconds=31), last_step=None) is None
    assert totp.verify(SECRET, code, at=T0 + timedelta(seconds=59), last_step=None) == step
    assert totp.verify(SECRET, code, at=T0 + timedelta(seconds=60), last_step=None) is None


def test_replay_and_earlier_steps_refused() -> None:
    step = totp.time_step(T0)
    current = totp.code_at_step(SECRET, step)
    previous = totp.code_at_step(SECRET, step - 1)
    assert totp.verify(SECRET, current, at=T0, last_step=step) is None  # same code again
    assert totp.verify(SECRET, previous, at=T0, last_step=step) is None  # older step after newer
    nxt = totp.code_at_step(SECRET, step + 1)
    assert totp.verify(SECRET, nxt, at=T0, last_step=step) == step + 1


@pytest.mark.parametrize(
    "raw", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "12345\x00", "1" * 10_000, "12 3456", None, 123456]
)
def test_malformed_input_is_not_a_code(raw: object) -> None:
    assert totp.normalize_code(raw) is None
    assert totp.verify(SECRET, raw, at=T0, last_step=None) is None


def test_nfkc_full_width_digits_and_outer_whitespace_accepted() -> None:
    code = totp.code_at(SECRET, T0)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    assert totp.normalize_code(full_width) == code
    assert totp.verify(SECRET, f"  {code}\n", at=T0, last_step=None) == totp.time_step(T0)


def test_provisioning_uri() -> None:
    uri = totp.provisioning_uri("ABC", issuer="My Env", label="a@b.c")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/My%20Env%3Aa%40b.c"
    q = parse_qs(parts.query)
    assert q == {
        "secret": ["ABC"],
        "issuer": ["My Env"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
