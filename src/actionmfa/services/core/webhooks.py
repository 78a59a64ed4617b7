"""Webhook delivery that does not lose events (issue 13.4): a transactional outbox and its worker.

*Writing.* An event becomes an ``webhook_outbox`` row in the transaction that caused it: the
delegation events by :mod:`actionmfa.services.wallets.delivery` inside the reshare's transaction,
the others by relaying **audit rows** (the audit row is written in the action's own transaction, so
the audit log already is an outbox; :meth:`WebhookWorker.relay` copies each mapped event once — the
outbox's unique ``source_audit_id`` makes a second relay a no-op).

*Delivering.* :meth:`WebhookWorker.run_once` claims due events with a lease (a conditional UPDATE;
on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``), strictly in order per ordering key
(wallet or user), POSTs each outside any transaction, records the attempt (unique per event and
attempt number) and settles: delivered on a 2xx, else retried with exponential backoff
(5 s · 2ⁿ, at most 6 h apart) until 24 h after the event, then ``failed`` (``actionmfa webhooks
redeliver`` queues it again). Every server process runs one worker thread.

*Signing* follows the Standard Webhooks specification (standardwebhooks.com, "Signature scheme"):
``webhook-id`` (the event id, the receiver's idempotency key), ``webhook-timestamp`` (unix seconds;
receivers refuse old ones: replay window) and ``webhook-signature: v1,<base64 HMAC-SHA256(secret,
id.timestamp.body)>`` — one ``v1`` per secret while a rotated secret is still in its overlap. The
older ``x-actionmfa-signature-256`` (hex HMAC of the body, current secret) stays for delegation
receivers written against it. The SDK checks all of it with :func:`actionmfa.sdk.webhooks.verify_webhook`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.records import AuditSource, OutboxRow
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.ports import CoreUnit, Transactions

log = logging.getLogger("actionmfa.webhooks")

__all__ = ["AUDIT_EVENTS", "WebhookWorker", "outbox_aad", "rotate_webhook_secrets", "secret_aad", "sign_headers",
           "signed_content"]

# audit event → webhook event (issue 13.4's list; delegation events are written by the reshare itself)
AUDIT_EVENTS: dict[str, str] = {
    "wallet.exported": "wallet.exported",
    "wallet.signature_invalid": "wallet.locked",
    "mfa.enrolled": "user.mfa.method_added",
    "passkey.registered": "user.mfa.method_added",
    "mfa.device_deleted": "user.mfa.method_removed",
    "passkey.deleted": "user.mfa.method_removed",
    "mfa.recovery_codes_created": "user.mfa.recovery_codes_regenerated",
    "mfa.reset": "user.mfa.reset_by_admin",
    "wallet.standin_erased": "wallet.pregenerated.claimed",  # issue 13.1: the operator's custody ended
}
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
LEGACY_SIGNATURE_HEADER = "x-actionmfa-signature-256"
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 6 * 3600
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0


def secret_aad(environment_id: str) -> str:
    """AAD of the environment's webhook secret blob (the delegation secret: one per environment)."""
    return f"waas-delegation-secret:{environment_id}"


def outbox_aad(event_id: str) -> str:
    return f"webhook-outbox:{event_id}"


def signed_content(event_id: str, timestamp: int, body: bytes) -> bytes:
    """Standard Webhooks: ``msg_id.timestamp.payload``."""
    return f"{event_id}.{timestamp}.".encode() + body


def sign_headers(event_id: str, timestamp: int, body: bytes, secrets: Sequence[bytes]) -> dict[str, str]:
    """The delivery headers for ``body`` signed with each of ``secrets`` (the first is current)."""
    content = signed_content(event_id, timestamp, body)
    sigs = " ".join("v1," + base64.b64encode(hmac.new(s, content, hashlib.sha256).digest()).decode()
                    for s in secrets)
    return {"content-type": "application/json", "webhook-id": event_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sigs,
            LEGACY_SIGNATURE_HEADER: hmac.new(secrets[0], body, hashlib.sha256).hexdigest()}


def rotate_webhook_secrets(uow: CoreUnit, keyring: Keyring) -> int:
    """Re-encrypt every outbox body and every rotated-out webhook secret still in its overlap under
    the keyring's active key (``actionmfa keys rotate``; the current secret is the wallet area's
    delegation secret, re-encrypted there). Afterwards the old key can be retired without losing a
    queued delivery. Returns the number of blobs re-encrypted."""
    count = 0
    for event_id, blob in uow.webhooks.sealed_bodies():
        if keyring.needs_rotation(blob):
            uow.webhooks.set_sealed_body(event_id, keyring.reencrypt(blob, aad=outbox_aad(event_id)))
            count += 1
    for environment_id, blob in uow.webhooks.sealed_previous_secrets():
        if keyring.needs_rotation(blob):
            uow.webhooks.set_sealed_previous_secret(environment_id,
                                                    keyring.reencrypt(blob, aad=secret_aad(environment_id)))
            count += 1
    return count


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


class WebhookWorker:
    def __init__(self, db: Transactions[CoreUnit], keyring: Keyring, clock: Clock, *, name: str | None = None,
                 interval_seconds: float = 2.0) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self.interval_seconds = interval_seconds
        self.http: httpx.Client | None = None  # tests may inject one; else one per delivery
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- writing ----------------------------------------------------------------------------------
    def enqueue(self, uow: CoreUnit, *, environment_id: str, event_name: str, ordering_key: str, url: str,
                data: dict[str, Any], now: datetime, event_id: str | None = None,
                source_audit_id: int | None = None) -> str:
        """Add an event in the caller's transaction; returns its event id."""
        event_id = event_id or str(uuid.uuid4())
        body = json.dumps({"eventId": event_id, "eventName": event_name, "environmentId": environment_id,
                           "timestamp": now.isoformat(), "data": data}, separators=(",", ":")).encode()
        uow.webhooks.enqueue(event_id=event_id, environment_id=environment_id, ordering_key=ordering_key,
                             event_name=event_name, url=url, body=self.keyring.encrypt(body, aad=outbox_aad(event_id)),
                             now=now, source_audit_id=source_audit_id)
        return event_id

    def relay(self, *, limit: int = 500) -> int:
        """Copy mapped audit events of environments with a webhook URL into the outbox (once each)."""
        now = self.clock.now()
        count = 0
        with self.db.write() as uow:
            for source in uow.webhooks.unrelayed_audit(AUDIT_EVENTS, limit=limit):
                count += self._relay_one(uow, source, now)
        return count

    def _relay_one(self, uow: CoreUnit, source: AuditSource, now: datetime) -> int:
        environment = uow.environments.get(source.environment_id)
        url = environment.settings.webhooks.url if environment is not None else None
        if url is None or uow.webhooks.secrets(source.environment_id) is None:
            return 0  # nobody to tell (a later configuration does not replay the past)
        data = {"userId": source.user_id, "auditId": source.id, "at": source.created_at.isoformat(),
                **source.details}
        key = str(source.details.get("walletId") or source.user_id or source.environment_id)
        self.enqueue(uow, environment_id=source.environment_id, event_name=AUDIT_EVENTS[source.event],
                     ordering_key=key, url=url, data=data, now=now,
                     # The environment's (random) id too: the audit number alone repeats in another
                     # installation or a reset database, and receivers deduplicate on the event id.
                     event_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                             f"actionmfa:audit:{source.environment_id}:{source.id}")),
                     source_audit_id=source.id)
        return 1

    # -- delivering -------------------------------------------------------------------------------
    def run_once(self, *, limit: int = 20) -> int:
        """Relay, then claim and deliver what is due; returns the number delivered."""
        self.relay()
        return sum(self._deliver(row, token) for row, token in self._claim(limit))

    def deliver_now(self, event_id: str) -> bool:
        """Try one event at once (the reshare reports whether its delegation arrived)."""
        claimed = self._claim(1, event_id=event_id)
        return any(self._deliver(row, token) for row, token in claimed)

    def _claim(self, limit: int, *, event_id: str | None = None) -> list[tuple[OutboxRow, str]]:
        now = self.clock.now()
        token = str(uuid.uuid4())
        with self.db.write() as uow:
            rows = uow.webhooks.due(now, limit=limit, event_id=event_id)
            return [(r, token) for r in rows if uow.webhooks.claim(r.seq, token=token, now=now, until=now + LEASE)]

    def _secrets(self, uow: CoreUnit, environment_id: str, now: datetime) -> list[bytes]:
        found = uow.webhooks.secrets(environment_id)
        if found is None:
            return []
        current, previous, until = found
        out = [self.keyring.decrypt(current, aad=secret_aad(environment_id))]
        if previous is not None and until is not None and until > now:
            try:
                out.append(self.keyring.decrypt(previous, aad=secret_aad(environment_id)))
            except Exception:
                log.warning("previous webhook secret of %s cannot be opened", environment_id)
        return out

    def _deliver(self, row: OutboxRow, token: str) -> bool:
        now = self.clock.now()
        attempt = row.attempts + 1
        with self.db.read() as uow:
            secrets = self._secrets(uow, row.environment_id, now)
        body = self.keyring.decrypt(row.body, aad=outbox_aad(row.event_id))
        status: int | None = None
        error: str | None = None
        if not secrets:
            error = "no webhook secret"
        else:
            try:
                client = self.http or httpx.Client(timeout=TIMEOUT_SECONDS)
                try:
                    response = client.post(row.url, content=body,
                                           headers=sign_headers(row.event_id, int(now.timestamp()), body, secrets))
                    status = response.status_code
                finally:
                    if client is not self.http:
                        client.close()
            except httpx.HTTPError as exc:
                error = type(exc).__name__
        ok = status is not None and 200 <= status < 300
        if not ok and error is None:
            error = f"HTTP {status}"
        gave_up = not ok and now - row.created_at >= GIVE_UP_AFTER
        with self.db.write() as uow:
            uow.webhooks.record_attempt(row.event_id, attempt, now=now, http_status=status, error=error,
                                        worker=self.name)
            uow.webhooks.settle(row.seq, token=token, status=DELIVERED if ok else FAILED if gave_up else PENDING,
                                attempts=attempt, next_attempt_at=now + backoff(attempt), http_status=status,
                                error=error, delivered_at=now if ok else None)
        if not ok:
            log.info("webhook %s attempt %d failed: %s", row.event_id, attempt, error)
        return ok

    # -- the operator's view (``actionmfa webhooks list|redeliver``) ------------------------------
    def list_events(self, environment_id: str | None = None, *, status: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
        """Events newest first with their delivery history (no bodies: they may hold sealed shares)."""
        with self.db.read() as uow:
            return [{"eventId": r.event_id, "eventName": r.event_name, "environmentId": r.environment_id,
                     "orderingKey": r.ordering_key, "status": r.status, "attempts": r.attempts,
                     "nextAttemptAt": r.next_attempt_at.isoformat() if r.status == PENDING else None,
                     "lastStatus": r.last_status, "lastError": r.last_error, "createdAt": r.created_at.isoformat(),
                     "deliveredAt": r.delivered_at.isoformat() if r.delivered_at else None,
                     "history": uow.webhooks.attempts(r.event_id)}
                    for r in uow.webhooks.events(environment_id, status=status, limit=limit)]

    def redeliver(self, event_id: str, *, environment_id: str | None = None, operator: str = "cli") -> bool:
        """Queue an event again, due now (same event id: receivers deduplicate). With
        ``environment_id`` only an event of that environment (the dashboard). Audited
        ``webhook.redelivered``; False (nothing changed) for an unknown event."""
        now = self.clock.now()
        with self.db.write() as uow:
            row = uow.webhooks.event(event_id)
            if row is None or (environment_id is not None and row.environment_id != environment_id):
                return False
            uow.webhooks.redeliver(event_id, now=now)
            audit.record(uow, AuditIds(row.environment_id), AuditEvent.WEBHOOK_REDELIVERED, now=now, outcome="ok",
                         eventId=event_id, eventName=row.event_name, previousStatus=row.status,
                         attempts=row.attempts, operator=operator)
            return True

    # -- the thread every server process runs ----------------------------------------------------
    def start(self) -> None:
        if self._thread is not None or self.interval_seconds <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="actionmfa-webhooks", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.run_once()
            except Exception:  # keep delivering after a transient database error
                log.exception("webhook worker round failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
