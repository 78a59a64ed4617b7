"""Wire views of wallets and of a finished signature; the notice export hooks receive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actionmfa.domain.records import WalletRow
from actionmfa.wallet.messages import Signature
from actionmfa.wallet.payloads import PayloadKind, SignRequest, signed_raw_transaction


@dataclass(frozen=True)
class WalletView:
    id: str
    chain: str
    address: str
    public_key: str
    locked: bool
    key_version: int
    created_at: datetime
    threshold_scheme: str = "TWO_OF_TWO"
    key_ceremony_id: str | None = None
    pending_action: str | None = None
    custody: str | None = None  # "pregenerated": the claim (delivery + refresh) has not happened yet

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chain": self.chain,
            "address": self.address,
            "publicKey": self.public_key,
            "locked": self.locked,
            "keyVersion": self.key_version,
            "keyCeremonyId": self.key_ceremony_id,
            "pendingAction": self.pending_action,
            "pregenerated": self.custody is not None,
            "createdAt": self.created_at.isoformat(),
            "thresholdSignatureScheme": self.threshold_scheme,
        }

    @classmethod
    def of(cls, row: WalletRow) -> WalletView:
        return cls(row.id, row.chain.value, row.address, row.public_key, row.locked_at is not None, row.key_version,
                   row.created_at, row.threshold_scheme, row.key_ceremony_id, row.pending_action, row.custody)


@dataclass(frozen=True)
class ExportNotice:
    """What an export notification hook receives (no secret material)."""

    environment_id: str
    user_id: str
    wallet_id: str
    address: str
    request_id: str
    at: datetime


def signature_result(ceremony_id: str, request: SignRequest, sig: Signature) -> dict[str, Any]:
    """The last round's answer: the signature, and for a transaction the signed raw transaction."""
    result: dict[str, Any] = {"ceremonyId": ceremony_id, "digest": "0x" + request.digest().hex(),
                              "signature": sig.to_json()}
    if request.kind is PayloadKind.TRANSACTION:
        result["signedTransaction"] = "0x" + signed_raw_transaction(request, sig).hex()
    return result
