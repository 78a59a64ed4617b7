"""Wire encoding of big integers: unsigned base64url, and signed values with a mandatory sign
character (a magnitude whose base64url starts with '-' is never read as negative)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actionmfa.wallet.codec import b64_to_int, b64_to_signed, int_to_b64, signed_to_b64


@given(st.integers(min_value=-(2**5000), max_value=2**5000))
def test_signed_round_trip(value: int) -> None:
    assert b64_to_signed(signed_to_b64(value)) == value


@given(st.integers(min_value=0, max_value=2**5000))
def test_unsigned_round_trip(value: int) -> None:
    assert b64_to_int(int_to_b64(value)) == value


def test_magnitude_starting_with_dash_is_not_negative() -> None:
    value = 0xF8  # base64url of b"\xf8" is "-A": the magnitude itself starts with '-'
    assert int_to_b64(value) == "-A"
    assert b64_to_int("-A") == value
    assert signed_to_b64(value) == "+-A" and b64_to_signed("+-A") == value
    assert signed_to_b64(-value) == "--A" and b64_to_signed("--A") == -value


def test_zero_and_negative_zero() -> None:
    assert signed_to_b64(0) == "+AA" and b64_to_signed("+AA") == 0
    with pytest.raises(ValueError):
        b64_to_signed("-AA")


@pytest.mark.parametrize("text", ["", "+", "AA", "-", "*AA", "+A", 5])
def test_malformed_signed_values(text: object) -> None:
    with pytest.raises(ValueError):
        b64_to_signed(text)  # type: ignore[arg-type]


def test_unsigned_refuses_negative() -> None:
    with pytest.raises(ValueError):
        int_to_b64(-1)
