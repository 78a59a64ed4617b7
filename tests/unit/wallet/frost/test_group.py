"""Element and scalar validation of RFC 9591 §6.1 (through libsodium)."""

from __future__ import annotations

import pytest
from nacl import bindings as sodium

from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.group import GroupError

IDENTITY = b"\x01" + bytes(31)
# A point of order 8 (RFC 8032 small-order list) and a non-canonical encoding of y = p (≡ 0).
SMALL_ORDER = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
NON_CANONICAL = bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")


@pytest.mark.parametrize("buf", [IDENTITY, SMALL_ORDER, NON_CANONICAL, bytes(32), b"\x00" * 31])
def test_bad_elements_are_refused(buf: bytes) -> None:
    with pytest.raises(GroupError):
        g.deserialize_element(buf)


def test_torsioned_point_is_refused() -> None:
    # B + T (T of order 8) is on the curve but outside the prime-order subgroup.
    base = g.base_mult(g.scalar(1))
    mixed = bytes(sodium.crypto_core_ed25519_add(base, SMALL_ORDER))
    with pytest.raises(GroupError):
        g.deserialize_element(mixed)


def test_scalars_must_be_canonical() -> None:
    with pytest.raises(GroupError):
        g.deserialize_scalar(g.ORDER.to_bytes(32, "little"))
    with pytest.raises(GroupError):
        g.deserialize_scalar(b"\xff" * 32)
    assert g.deserialize_scalar((g.ORDER - 1).to_bytes(32, "little"))


def test_base_mult_of_zero_is_refused() -> None:
    with pytest.raises(GroupError):
        g.base_mult(bytes(32))


def test_random_scalars_are_reduced_and_non_zero() -> None:
    for _ in range(20):
        s = g.random_scalar()
        assert 0 < int.from_bytes(s, "little") < g.ORDER
