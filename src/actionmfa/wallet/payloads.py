"""What a wallet can sign, and how the 32-byte digest is derived from what the user is shown.

The server computes the digest itself from the payload (never from a client-supplied hash):

* ``message``       — EIP-191 version 0x45 (``personal_sign``): ``encode_defunct``.
* ``typedData``     — EIP-712: ``encode_typed_data(full_message=…)``.
* ``transaction``   — legacy EIP-155 (type 0, :mod:`actionmfa.wallet.legacy_tx`), EIP-2930 (type 1),
  EIP-1559 (type 2) and EIP-7702 set-code (type 4) transactions, the typed ones by
  ``TypedTransaction.from_dict(tx).hash()``; ``type`` defaults to 2 and ``chainId`` is required.
* ``authorization`` — EIP-7702 authorization tuple: ``keccak(0x05 ‖ rlp([chainId, address, nonce]))``.

Chain ids (EIP-2294 bounds them to 64 bits): a transaction's is 1 … 2⁶⁴−1 — never 0, which no chain
uses and which a pre-EIP-155 signature would make valid everywhere. An EIP-7702 authorization may name
chainId 0 by design ("valid on every chain"): it parses, but the server refuses to sign it unless the
environment allows it (:func:`check_policy`, setting ``security.embeddedWallets.allowChainIdZeroAuthorizations``).

:func:`assemble` turns ``(r, s, v)`` into eth-account's own result types, so the results can be handed
to web3.py unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_account.datastructures import SignedMessage, SignedSetCodeAuthorization, SignedTransaction
from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data
from eth_account.typed_transactions.set_code_transaction import Authorization
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_keys.datatypes import Signature as EthKeysSignature
from eth_utils.address import is_address, to_canonical_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.ecdsa2p import Signature
from actionmfa.wallet.legacy_tx import LegacyTransaction

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PayloadKind",
    "SignRequest",
    "approval_digest_of",
    "assemble",
    "authorization_request",
    "check_policy",
    "message_request",
    "transaction_request",
    "typed_data_request",
]

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_CHAIN_ID = 2**64 - 1  # EIP-2294
MAX_NONCE = 2**64 - 1  # EIP-2681 (transactions), EIP-7702 (authorizations)
LEGACY, ACCESS_LIST, DYNAMIC_FEE, SET_CODE = 0, 1, 2, 4
_TX_TYPES = {LEGACY, ACCESS_LIST, DYNAMIC_FEE, SET_CODE}


class PayloadKind(StrEnum):
    MESSAGE = "message"
    TYPED_DATA = "typedData"
    TRANSACTION = "transaction"
    AUTHORIZATION = "authorization"


def _jsonable(value: Any) -> Any:
    """bytes → 0x-hex, SignedSetCodeAuthorization → dict, mappings/sequences recursively."""
    if isinstance(value, SignedSetCodeAuthorization):
        return {
            "chainId": value.chain_id,
            "address": "0x" + bytes(value.address).hex(),
            "nonce": value.nonce,
            "yParity": value.y_parity,
            "r": value.r,
            "s": value.s,
        }
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidRequestError(f"Unsupported value of type {type(value).__name__}", field="payload")


def _signable_digest(sm: SignableMessage) -> bytes:
    return bytes(keccak(b"\x19" + sm.version + sm.header + sm.body))


def approval_digest_of(chain: str, wallet_id: str, request: Mapping[str, Any]) -> str:
    """The ``approvalDigest`` of a request ``{"kind", "payload"}`` for one wallet of one chain
    family: SHA-256 of sorted compact JSON, hex (shared by the EVM and Solana requests)."""
    if not wallet_id:
        raise InvalidRequestError("walletId is required to bind an approval", field="walletId")
    doc = {**request, "chain": chain, "walletId": wallet_id}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class SignRequest:
    """A payload of one kind, in canonical JSON-able form. Build with the ``*_request`` helpers."""

    kind: PayloadKind
    payload: Any  # str for message text, {"raw": "0x…"} for bytes, dicts for the rest

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "payload": self.payload}

    @classmethod
    def from_json(cls, data: Any) -> SignRequest:
        if not isinstance(data, Mapping):
            raise InvalidRequestError("Expected an object", field="payload")
        try:
            kind = PayloadKind(str(data.get("kind")))
        except ValueError as exc:
            raise InvalidRequestError("Unknown payload kind", field="kind") from exc
        request = cls(kind, _jsonable(data.get("payload")))
        request.digest()  # validates
        return request

    def canonical_bytes(self) -> bytes:
        raw = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise InvalidRequestError("Payload too large", field="payload")
        return raw

    def approval_digest(self, *, wallet_id: str) -> str:
        """DESIGN §6 ``approvalDigest``, hex: SHA-256 of the canonical JSON of ``{"chain": "EVM",
        "kind", "payload", "walletId"}`` — the wallet and its chain are bound, so a token approved
        for this payload on one wallet does not open it on another (red-team finding)."""
        return approval_digest_of("EVM", wallet_id, self.to_json())

    def digest(self) -> bytes:
        """The 32-byte hash that gets signed; raises InvalidRequestError for malformed payloads."""
        cached: bytes | None = self.__dict__.get("_digest_cache")
        if cached is not None:
            return cached
        self.canonical_bytes()
        try:
            digest = self._digest()
            object.__setattr__(self, "_digest_cache", digest)  # frozen; the payload never changes
            return digest
        except InvalidRequestError:
            raise
        except Exception as exc:  # eth-account raises many types for malformed input
            raise InvalidRequestError(f"Invalid {self.kind.value} payload", field="payload") from exc

    def _digest(self) -> bytes:
        if self.kind is PayloadKind.MESSAGE:
            return _signable_digest(_message_signable(self.payload))
        if self.kind is PayloadKind.TYPED_DATA:
            if not isinstance(self.payload, dict):
                raise InvalidRequestError("Typed data must be an object", field="payload")
            return _signable_digest(encode_typed_data(full_message=self.payload))
        if self.kind is PayloadKind.TRANSACTION:
            if _tx_type(self.payload) == LEGACY:
                return _legacy(self.payload).hash()
            return bytes(_typed_transaction(self.payload).hash())
        return bytes(_authorization(self.payload).hash())


def check_policy(request: SignRequest, *, allow_chain_id_zero_authorizations: bool = False) -> None:
    """What the server refuses to sign although it parses: an EIP-7702 authorization for chainId 0
    (valid on every chain, EIP-7702 §Specification) unless the environment allows it."""
    if (request.kind is PayloadKind.AUTHORIZATION and request.payload.get("chainId") == 0
            and not allow_chain_id_zero_authorizations):
        raise InvalidRequestError("An authorization for chainId 0 is valid on every chain; this environment "
                                  "does not sign one", field="chainId")


def _message_signable(payload: Any) -> SignableMessage:
    if isinstance(payload, str):
        return encode_defunct(text=payload)
    if isinstance(payload, dict) and isinstance(payload.get("raw"), str) and len(payload) == 1:
        return encode_defunct(hexstr=payload["raw"])
    raise InvalidRequestError("Message must be text or {raw: hex}", field="payload")


def _typed_transaction(payload: Any) -> TypedTransaction:
    return TypedTransaction.from_dict({**payload, "type": _tx_type(payload)})


def _chain_id(value: Any, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError("chainId must be an integer", field="chainId")
    if not (0 if allow_zero else 1) <= value <= MAX_CHAIN_ID:
        raise InvalidRequestError(f"chainId must be {0 if allow_zero else 1} … 2**64-1 (EIP-2294)", field="chainId")
    return value


def _tx_type(payload: Any) -> int:
    if not isinstance(payload, dict):
        raise InvalidRequestError("Transaction must be an object", field="payload")
    if any(k in payload for k in ("v", "r", "s", "yParity")):
        raise InvalidRequestError("Transaction must be unsigned", field="payload")
    _chain_id(payload.get("chainId"), allow_zero=False)
    nonce = payload.get("nonce")
    if isinstance(nonce, int) and not isinstance(nonce, bool) and not 0 <= nonce <= MAX_NONCE:
        raise InvalidRequestError("nonce must be 0 … 2**64-1 (EIP-2681)", field="nonce")
    tx_type = payload.get("type", DYNAMIC_FEE)
    try:
        if isinstance(tx_type, str):
            tx_type = int(tx_type, 16)
    except ValueError:
        raise InvalidRequestError("type must be 0, 1, 2 or 4", field="type") from None
    if isinstance(tx_type, bool) or tx_type not in _TX_TYPES:
        raise InvalidRequestError("Only legacy EIP-155 (type 0), EIP-2930 (1), EIP-1559 (2) and EIP-7702 (4) "
                                  "transactions", field="type")
    return int(tx_type)


def _legacy(payload: dict[str, Any]) -> LegacyTransaction:
    return LegacyTransaction.from_payload(payload, payload["chainId"])


def _authorization(payload: Any) -> Authorization:
    if not isinstance(payload, dict) or set(payload) != {"chainId", "address", "nonce"}:
        raise InvalidRequestError("Authorization needs exactly chainId, address, nonce", field="payload")
    chain_id, address, nonce = payload["chainId"], payload["address"], payload["nonce"]
    _chain_id(chain_id, allow_zero=True)  # 0 parses; check_policy decides whether it is signed
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce <= MAX_NONCE:
        raise InvalidRequestError("nonce must be 0 … 2**64-1", field="nonce")
    if not isinstance(address, str) or not is_address(address):
        raise InvalidRequestError("Invalid address", field="address")
    return Authorization(chain_id, to_canonical_address(address), nonce)


def message_request(message: str | bytes) -> SignRequest:
    payload: Any = message if isinstance(message, str) else {"raw": "0x" + bytes(message).hex()}
    return SignRequest(PayloadKind.MESSAGE, payload)


def typed_data_request(full_message: Mapping[str, Any]) -> SignRequest:
    return SignRequest(PayloadKind.TYPED_DATA, _jsonable(full_message))


def transaction_request(tx: Mapping[str, Any]) -> SignRequest:
    return SignRequest(PayloadKind.TRANSACTION, _jsonable(tx))


def authorization_request(auth: Mapping[str, Any]) -> SignRequest:
    data = _jsonable(auth)
    if isinstance(data, dict) and "chain_id" in data and "chainId" not in data:
        data["chainId"] = data.pop("chain_id")
    return SignRequest(PayloadKind.AUTHORIZATION, data)


def signed_raw_transaction(request: SignRequest, sig: Signature) -> bytes:
    """The signed, encoded transaction: RLP for legacy, ``type ‖ rlp(…)`` for typed ones."""
    tx_type = _tx_type(request.payload)
    if tx_type == LEGACY:
        return _legacy(request.payload).encode_signed(sig.v, sig.r, sig.s)
    signed = TypedTransaction.from_dict({**request.payload, "type": tx_type, "v": sig.v, "r": sig.r, "s": sig.s})
    return bytes(signed.encode())


def assemble(request: SignRequest, sig: Signature) -> SignedMessage | SignedTransaction | SignedSetCodeAuthorization:
    """Build eth-account's result object for a verified two-party signature."""
    digest = request.digest()
    if request.kind in (PayloadKind.MESSAGE, PayloadKind.TYPED_DATA):
        v = sig.v + 27
        raw = sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([v])
        return SignedMessage(HexBytes(digest), sig.r, sig.s, v, HexBytes(raw))
    if request.kind is PayloadKind.TRANSACTION:
        raw_tx = signed_raw_transaction(request, sig)
        v = _legacy(request.payload).v(sig.v) if _tx_type(request.payload) == LEGACY else sig.v
        return SignedTransaction(HexBytes(raw_tx), HexBytes(keccak(raw_tx)), sig.r, sig.s, v)
    payload = request.payload
    return SignedSetCodeAuthorization(
        chain_id=payload["chainId"],
        address=to_canonical_address(payload["address"]),
        nonce=payload["nonce"],
        y_parity=sig.v,
        r=sig.r,
        s=sig.s,
        signature=EthKeysSignature(vrs=(sig.v, sig.r, sig.s)),
        authorization_hash=HexBytes(digest),
    )
