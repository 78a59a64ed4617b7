"""Delegation webhooks: the environment's ``wallet.delegation.*`` events, written to the webhook
outbox in the reshare's own transaction and delivered by the worker
(:mod:`actionmfa.services.core.webhooks`: retries with backoff, order per wallet, Standard Webhooks
signatures) — the reshare tries the delivery once right after its commit to report ``delivered``.

``wallet.delegation.created`` (and ``wallet.delegation.refreshed``, after the refresh of a delegated
wallet re-dealt every share) carries the server's sub-share and the user's for the delegate, each
in an RSA-OAEP + AES-256-GCM envelope for the developer's key, the Feldman commitments, the pair
set-up and the wallet API key (sealed too); ``wallet.delegation.revoked`` announces a revocation.
The body is signed with HMAC-SHA256 under the environment's delegation secret (shown once when it
is created; rotating it keeps the old one signing beside the new for :data:`SECRET_OVERLAP`). The
first delivery's outcome is audited; a failed delivery does not undo the reshare, the worker retries.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import WalletRow
from actionmfa.errors import DelegatedAccessDisabledError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.webhooks import WebhookWorker
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import point_to_hex

log = logging.getLogger("actionmfa.wallets")

CREATED_EVENT = "wallet.delegation.created"
REVOKED_EVENT = "wallet.delegation.revoked"
REFRESHED_EVENT = "wallet.delegation.refreshed"  # a delegated wallet refreshed: same data as created


SECRET_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class Delivery:
    environment_id: str
    user_id: str
    wallet_id: str
    event_id: str
    event_name: str


def create_delegation_secret(uow: WalletUnit, vault: WalletVault, environment_id: str, *, now: datetime) -> str:
    """A new HMAC secret for the environment's webhooks; the one it replaces keeps signing beside it
    for :data:`SECRET_OVERLAP` (rotation without a gap). The caller shows it once. Returned as 64 hex
    characters; the webhook key is its UTF-8 bytes."""
    secret = secrets.token_hex(32)
    uow.wallets.set_delegation_secret(environment_id, vault.seal_delegation_secret(environment_id, secret), now=now,
                                      previous_until=now + SECRET_OVERLAP)
    audit.record(uow, AuditIds(environment_id), AuditEvent.WALLET_DELEGATION_SECRET_CREATED, now=now, outcome="ok")
    return secret


class DelegationWebhook:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, vault: WalletVault, outbox: WebhookWorker) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault
        self.outbox = outbox

    def build(self, uow: WalletUnit, ctx: AuthContext, wallet: WalletRow, state: rs.ServerReshareState,
              data: dict[str, Any], version: int, pair: tuple[rs.PairSetup, str] | None,
              now: datetime, *, ceremony_id: str, refreshed: bool = False) -> Delivery | None:
        """The event a finished reshare announces, queued in the reshare's transaction; None when
        the environment has no webhook to tell."""
        settings = ctx.environment.settings.security.delegatedAccess
        blob = uow.wallets.delegation_secret(ctx.environment.id)
        if not settings.webhookUrl or blob is None:
            return None  # revoking where delegation was switched off since: nobody to tell
        event: dict[str, Any] = {"walletId": wallet.id, "chain": wallet.chain.value, "address": wallet.address,
                                 "publicKey": wallet.public_key, "shareVersion": version,
                                 "thresholdSignatureScheme": state.scheme.value, "ceremonyId": ceremony_id}
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
            name = REFRESHED_EVENT if refreshed else CREATED_EVENT
        else:
            name = REVOKED_EVENT
        event_id = self.outbox.enqueue(uow, environment_id=ctx.environment.id, event_name=name,
                                       ordering_key=wallet.id, url=settings.webhookUrl, data=event, now=now)
        return Delivery(ctx.environment.id, ctx.user.id, wallet.id, event_id, name)

    def deliver(self, d: Delivery) -> bool:
        """Try the queued event once now (outside any transaction) and audit the outcome; the worker
        retries a failure."""
        try:
            ok = self.outbox.deliver_now(d.event_id)
        except Exception:  # the reshare committed: a delivery problem must not turn it into a 500
            log.exception("delegation webhook for wallet %s could not be attempted", d.wallet_id)
            ok = False
        event = AuditEvent.WALLET_DELEGATION_DELIVERED if ok else AuditEvent.WALLET_DELEGATION_DELIVERY_FAILED
        with self.db.write() as uow:
            audit.record(uow, AuditIds(d.environment_id, d.user_id), event, now=self.clock.now(),
                         action=MFAAction.WALLET_WAAS_RESHARE.value, outcome="ok" if ok else "failed",
                         walletId=d.wallet_id, eventName=d.event_name, eventId=d.event_id)
        return ok
