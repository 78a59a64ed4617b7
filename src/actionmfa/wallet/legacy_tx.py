"""Legacy (type 0) Ethereum transactions with EIP-155 replay protection.

EIP-155 §Specification: the signed hash is ``keccak(rlp([nonce, gasPrice, gas, to, value, data,
chainId, 0, 0]))`` and the signature's ``v = recovery_parity + 2·chainId + 35``; the signed
transaction is ``rlp([nonce, gasPrice, gas, to, value, data, v, r, s])``. Pre-EIP-155 transactions
(``v`` ∈ {27, 28}, valid on every chain) are never produced: ``chainId`` is required.

eth-account builds typed transactions (EIP-2718) through a public class, but legacy ones only in its
private ``_utils``; the encoding is short enough to keep here, and the tests cross-check it against
``Account.sign_transaction`` / ``Account.recover_transaction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_utils.address import is_address, to_canonical_address
from eth_utils.crypto import keccak

from actionmfa.errors import InvalidRequestError

__all__ = ["LegacyTransaction"]

_FIELDS = {"type", "chainId", "nonce", "gasPrice", "gas", "to", "value", "data"}
_UINT256 = 2**256


def _uint(payload: dict[str, Any], key: str, *, default: int | None = None) -> int:
    value = payload.get(key, default)
    if isinstance(value, str) and value.startswith("0x"):
        value = int(value, 16)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT256:
        raise InvalidRequestError(f"{key} must be an unsigned 256-bit integer", field=key)
    return value


def _data(payload: dict[str, Any]) -> bytes:
    value = payload.get("data", "0x")
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidRequestError("data must be 0x-hex", field="data")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidRequestError("data must be 0x-hex", field="data") from None


def _to(payload: dict[str, Any]) -> bytes:
    value = payload.get("to")
    if value in (None, "", "0x"):
        return b""  # contract creation
    if not isinstance(value, str) or not is_address(value):
        raise InvalidRequestError("Invalid address", field="to")
    return bytes(to_canonical_address(value))


@dataclass(frozen=True)
class LegacyTransaction:
    chain_id: int
    nonce: int
    gas_price: int
    gas: int
    to: bytes
    value: int
    data: bytes

    @classmethod
    def from_payload(cls, payload: dict[str, Any], chain_id: int) -> LegacyTransaction:
        unknown = set(payload) - _FIELDS
        if unknown:
            raise InvalidRequestError(f"Unexpected field {sorted(unknown)[0]} in a legacy transaction",
                                      field="payload")
        return cls(chain_id, _uint(payload, "nonce"), _uint(payload, "gasPrice"), _uint(payload, "gas"),
                   _to(payload), _uint(payload, "value", default=0), _data(payload))

    def _fields(self) -> list[Any]:
        return [self.nonce, self.gas_price, self.gas, self.to, self.value, self.data]

    def hash(self) -> bytes:
        """EIP-155 signing hash."""
        return bytes(keccak(rlp.encode([*self._fields(), self.chain_id, 0, 0])))

    def v(self, parity: int) -> int:
        return parity + 2 * self.chain_id + 35

    def encode_signed(self, parity: int, r: int, s: int) -> bytes:
        return bytes(rlp.encode([*self._fields(), self.v(parity), r, s]))
