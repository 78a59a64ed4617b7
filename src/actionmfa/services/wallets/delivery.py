"""Delegation webhooks: the environment's ``wallet.delegation.*`` events, delivered after the
reshare that caused them committed.

``wallet.delegation.created`` carries the server's sub-share and the user's for the delegate, each
in an RSA-OAEP + AES-256-GCM envelope for the developer's key, the Feldman commitments, the pair
set-up and the wallet API key (sealed too); ``wallet.delegation.revoked`` announces a revocation.
The body is signed with HMAC-SHA256 under the environment's delegation secret (shown once when it
is created). The delivery outcome is audited; a failed delivery does not undo the reshare (the
developer can revoke and delegate again).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import WalletRow
from actionmfa.errors import DelegatedAccessDisabledError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import point_to_hex

log = logging.getLogger("actionmfa.wallets")

DELIVERY_TIMEOUT_SECONDS = 10.0
CREATED_EVENT = "wallet.delegation.created"
REVOKED_EVENT = "wallet.delegation.revoked"


@dataclass(frozen=True)
class Delivery:
    environment_id: str
    user_id: str
    wallet_id: str
    url: str
    body: bytes
    signature: str
    event_name: str


def create_delegation_secret(uow: WalletUnit, vault: WalletVault, environment_id: str, *, now: datetime) -> str:
    """A new HMAC secret for the environment's delegation webhooks (replaces the old one); the
    caller shows it once. Returned as 64 hex characters; the webhook key is its UTF-8 bytes."""
    secret = secrets.token_hex(32)
    uow.wallets.set_delegation_secret(environment_id, vault.seal_delegation_secret(environment_id, secret), now=now)
    audit.record(uow, AuditIds(environment_id), AuditEvent.WALLET_DELEGATION_SECRET_CREATED, now=now, outcome="ok")
    return secret


class DelegationWebhook:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, vault: WalletVault) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault
        self.http: httpx.Client | None = None  # tests may inject a client; else one per delivery

    def build(self, uow: WalletUnit, ctx: AuthContext, wallet: WalletRow, state: rs.ServerReshareState,
              data: dict[str, Any], version: int, pair: tuple[rs.PairSetup, str] | None,
              now: datetime) -> Delivery | None:
        """The event a finished reshare announces (in the reshare's transaction), or None when the
        environment has no webhook to tell."""
        settings = ctx.environment.settings.security.delegatedAccess
        blob = uow.wallets.delegation_secret(ctx.environment.id)
        if not settings.webhookUrl or blob is None:
            return None  # revoking where delegation was switched off since: nobody to tell
        secret = self.vault.open_delegation_secret(ctx.environment.id, blob)
        event: dict[str, Any] = {"walletId": wallet.id, "chain": wallet.chain.value, "address": wallet.address,
                                 "publicKey": wallet.public_key, "shareVersion": version,
                                 "thresholdSignatureScheme": state.scheme.value}
        if state.scheme is rs.ThresholdScheme.TWO_OF_THREE:
            if not settings.publicKeyPem or not isinstance(data.get("userSealed"), dict):
                raise DelegatedAccessDisabledError()
            assert state.user_commitments is not None  # noqa: S101
            server_sub = state.sub_shares[rs.DELEGATE_INDEX]
            event |= {
                "shareIndex": rs.DELEGATE_INDEX, "serverShareIndex": rs.SERVER_INDEX,
                "userShareIndex": rs.USER_INDEX,
                "commitments": {"server": [point_to_hex(p) for p in state.commitments],
                                "user": [point_to_hex(p) for p in state.user_commitments]},
                "encryptedDelegatedShare": dg.seal_envelope(
                    settings.publicKeyPem, dg.sub_share_plaintext(wallet.id, version, "server", server_sub)),
                "encryptedUserSubShare": data["userSealed"],
            }
            if pair is not None:
                event |= {
                    "delegatedPairSetup": pair[0].to_json(),
                    "encryptedWalletApiKey": dg.seal_envelope(
                        settings.publicKeyPem, dg.api_key_plaintext(wallet.id, version, pair[1])),
                }
            name = CREATED_EVENT
        else:
            name = REVOKED_EVENT
        body = json.dumps({"eventId": str(uuid.uuid4()), "eventName": name, "environmentId": ctx.environment.id,
                           "timestamp": now.isoformat(), "data": event}, separators=(",", ":")).encode()
        return Delivery(ctx.environment.id, ctx.user.id, wallet.id, settings.webhookUrl, body,
                        dg.sign_body(secret, body), name)

    def deliver(self, d: Delivery) -> bool:
        """POST the event (outside any transaction) and audit the outcome."""
        status: int | None = None
        try:
            client = self.http or httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS)
            try:
                response = client.post(d.url, content=d.body, headers={
                    "content-type": "application/json", dg.SIGNATURE_HEADER: d.signature})
                status = response.status_code
            finally:
                if client is not self.http:
                    client.close()
        except httpx.HTTPError as exc:
            log.warning("delegation webhook for wallet %s failed: %s", d.wallet_id, type(exc).__name__)
        ok = status is not None and 200 <= status < 300
        event = AuditEvent.WALLET_DELEGATION_DELIVERED if ok else AuditEvent.WALLET_DELEGATION_DELIVERY_FAILED
        with self.db.write() as uow:
            audit.record(uow, AuditIds(d.environment_id, d.user_id), event, now=self.clock.now(),
                         action=MFAAction.WALLET_WAAS_RESHARE.value, outcome="ok" if ok else "failed",
                         walletId=d.wallet_id, eventName=d.event_name, httpStatus=status)
        return ok
