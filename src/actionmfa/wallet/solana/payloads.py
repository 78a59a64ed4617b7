"""Solana payloads a wallet signs, parsed by the server (never a bare hash).

* ``solTransaction`` — the message of a transaction, legacy or v0 (with address-lookup tables), in
  the bytes a signature covers (``solders.message.to_bytes_versioned``: a legacy message as is, a v0
  message behind its ``0x80`` version prefix), base64 in ``payload.message``. The server parses it
  with ``solders``, refuses one that does not re-serialise to the same bytes (so what is summarised
  is what is signed), and refuses one the wallet is not a required signer of.
* ``solMessage`` — an off-chain message, base64 in ``payload.message``. Bytes that parse as a
  transaction message are refused here: signing them "as a message" would sign a transaction the
  user was never shown as one.

The ceremony is bound to ``digest`` = SHA-256("actionmfa/sol/v1" ‖ kind ‖ message bytes), recomputed
by the server at every round, and an MFA token can be bound to ``approval_digest`` (SHA-256 of the
canonical request, DESIGN §6) as for EVM payloads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from solders.message import Message, MessageV0, from_bytes_versioned, to_bytes_versioned
from solders.pubkey import Pubkey

from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.payloads import approval_digest_of

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SolanaPayloadKind",
    "SolanaSignRequest",
    "is_solana_kind",
    "message_request",
    "parse_transaction_message",
    "transaction_request",
]

MAX_MESSAGE_BYTES = 1232  # a Solana packet: no signable transaction message is longer
MAX_OFFCHAIN_BYTES = 64 * 1024


class SolanaPayloadKind(StrEnum):
    TRANSACTION = "solTransaction"
    MESSAGE = "solMessage"


def is_solana_kind(kind: str) -> bool:
    return kind in {k.value for k in SolanaPayloadKind}


def parse_transaction_message(raw: bytes) -> Message | MessageV0:
    """The message in ``raw``, which must be its canonical serialisation."""
    try:
        message = from_bytes_versioned(raw)
    except (ValueError, TypeError) as exc:
        raise InvalidRequestError("Not a Solana transaction message", field="payload") from exc
    if not isinstance(message, Message | MessageV0):
        raise InvalidRequestError("Only legacy and v0 Solana messages are supported", field="payload")
    if to_bytes_versioned(message) != raw:
        raise InvalidRequestError("Solana message is not in canonical form", field="payload")
    return message


def _looks_like_transaction(raw: bytes) -> bool:
    try:
        parse_transaction_message(raw)
    except InvalidRequestError:
        return False
    return True


@dataclass(frozen=True)
class SolanaSignRequest:
    kind: SolanaPayloadKind
    message: bytes

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "payload": {"message": base64.b64encode(self.message).decode()}}

    @classmethod
    def from_json(cls, data: Any) -> SolanaSignRequest:
        if not isinstance(data, Mapping):
            raise InvalidRequestError("Expected an object", field="payload")
        try:
            kind = SolanaPayloadKind(str(data.get("kind")))
        except ValueError as exc:
            raise InvalidRequestError("Unknown payload kind", field="kind") from exc
        payload = data.get("payload")
        text = payload.get("message") if isinstance(payload, Mapping) else None
        if not isinstance(text, str) or len(text) > 4 * MAX_OFFCHAIN_BYTES:
            raise InvalidRequestError("payload.message must be base64", field="payload")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError("payload.message must be base64", field="payload") from exc
        request = cls(kind, raw)
        request.validate()
        return request

    def validate(self) -> None:
        if not self.message:
            raise InvalidRequestError("Empty message", field="payload")
        if self.kind is SolanaPayloadKind.TRANSACTION:
            if len(self.message) > MAX_MESSAGE_BYTES:
                raise InvalidRequestError("Solana message too large", field="payload")
            parse_transaction_message(self.message)
        else:
            if len(self.message) > MAX_OFFCHAIN_BYTES:
                raise InvalidRequestError("Message too large", field="payload")
            if _looks_like_transaction(self.message):
                raise InvalidRequestError("This is a transaction message; sign it as solTransaction",
                                          field="payload")

    def transaction_message(self) -> Message | MessageV0:
        if self.kind is not SolanaPayloadKind.TRANSACTION:
            raise InvalidRequestError("Not a transaction", field="kind")
        return parse_transaction_message(self.message)

    def require_signer(self, address: str) -> int:
        """The wallet's index among the message's required signers (its signature's slot)."""
        if self.kind is not SolanaPayloadKind.TRANSACTION:
            return 0
        message = self.transaction_message()
        signers = list(message.account_keys)[: message.header.num_required_signatures]
        key = Pubkey.from_string(address)
        if key not in signers:
            raise InvalidRequestError("The wallet is not a signer of this transaction", field="payload")
        return signers.index(key)

    def digest(self) -> bytes:
        return hashlib.sha256(b"actionmfa/sol/v1\x00" + self.kind.value.encode() + b"\x00" + self.message).digest()

    def approval_digest(self, *, wallet_id: str) -> str:
        """DESIGN §6 ``approvalDigest``, hex, bound to the wallet and chain (``"SOL"``): see
        :func:`actionmfa.wallet.payloads.approval_digest_of`."""
        return approval_digest_of("SOL", wallet_id, self.to_json())


def transaction_request(message: Message | MessageV0) -> SolanaSignRequest:
    return SolanaSignRequest(SolanaPayloadKind.TRANSACTION, to_bytes_versioned(message))


def message_request(message: str | bytes) -> SolanaSignRequest:
    raw = message.encode() if isinstance(message, str) else bytes(message)
    request = SolanaSignRequest(SolanaPayloadKind.MESSAGE, raw)
    request.validate()
    return request
