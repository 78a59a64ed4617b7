"""Repository for the webhook outbox (tables in :mod:`actionmfa.store.webhook_tables`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from actionmfa.domain.records import AuditSource, OutboxRow
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.wallet_tables import waas_delegation_secrets as wds
from actionmfa.store.webhook_tables import webhook_attempts as wa
from actionmfa.store.webhook_tables import webhook_outbox as wo

__all__ = ["AuditSource", "OutboxRow", "WebhookRepo"]

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
RELAY_LOOKBACK = 1000  # audit ids below the newest relayed one still checked (late commits)


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r.seq, r.event_id, r.environment_id, r.ordering_key, r.event_name, r.url, r.body, r.status,
                     r.attempts, r.next_attempt_at, r.claim_token, r.last_status, r.last_error, r.created_at,
                     r.delivered_at)


class WebhookRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _insert_ignoring_duplicates(self, values: dict[str, Any]) -> bool:
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(wo).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(wo).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - the two supported backends
            stmt = insert(wo).values(**values)
        return bool(self.conn.execute(stmt).rowcount)

    def enqueue(self, *, event_id: str, environment_id: str, ordering_key: str, event_name: str, url: str,
                body: str, now: datetime, source_audit_id: int | None = None) -> bool:
        """Add an event (in the caller's transaction); False if that event id or audit row is queued."""
        return self._insert_ignoring_duplicates(dict(
            event_id=event_id, environment_id=environment_id, ordering_key=ordering_key, event_name=event_name,
            url=url, body=body, source_audit_id=source_audit_id, status=PENDING, attempts=0,
            next_attempt_at=now, claimed_until=None, claim_token=None, created_at=now))

    def unrelayed_audit(self, events: Iterable[str], *, limit: int) -> list[AuditSource]:
        """Audit rows of these events not yet in the outbox (newest relayed id minus a look-back)."""
        newest = self.conn.execute(select(func.max(wo.c.source_audit_id))).scalar_one_or_none() or 0
        q = (
            select(audit_log.c.id, audit_log.c.environment_id, audit_log.c.user_id, audit_log.c.event,
                   audit_log.c.details, audit_log.c.created_at)
            .where(audit_log.c.event.in_(list(events)), audit_log.c.id > newest - RELAY_LOOKBACK,
                   audit_log.c.environment_id.is_not(None),
                   ~exists().where(wo.c.source_audit_id == audit_log.c.id))
            .order_by(audit_log.c.id).limit(limit)
        )
        return [AuditSource(int(r.id), str(r.environment_id), r.user_id, r.event, dict(r.details or {}), r.created_at)
                for r in self.conn.execute(q)]

    def due(self, now: datetime, *, limit: int, event_id: str | None = None) -> list[OutboxRow]:
        """Pending events whose time has come, unclaimed (or whose lease ran out), each the oldest
        pending one of its ordering key. On PostgreSQL rows another worker holds are skipped."""
        earlier = wo.alias("earlier")
        q = select(wo).where(
            wo.c.status == PENDING, wo.c.next_attempt_at <= now,
            or_(wo.c.claimed_until.is_(None), wo.c.claimed_until < now),
            ~exists().where(and_(earlier.c.ordering_key == wo.c.ordering_key, earlier.c.seq < wo.c.seq,
                                 earlier.c.status == PENDING)),
        )
        if event_id is not None:
            q = q.where(wo.c.event_id == event_id)
        q = q.order_by(wo.c.seq).limit(limit)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=wo)
        return [_row(r) for r in self.conn.execute(q)]

    def claim(self, seq: int, *, token: str, now: datetime, until: datetime) -> bool:
        """Take the lease on one event; exactly one concurrent caller wins."""
        result = self.conn.execute(
            update(wo).where(wo.c.seq == seq, wo.c.status == PENDING,
                             or_(wo.c.claimed_until.is_(None), wo.c.claimed_until < now))
            .values(claim_token=token, claimed_until=until))
        return result.rowcount == 1

    def record_attempt(self, event_id: str, attempt: int, *, now: datetime, http_status: int | None,
                       error: str | None, worker: str) -> None:
        self.conn.execute(insert(wa).values(event_id=event_id, attempt=attempt, at=now, http_status=http_status,
                                            error=error, worker=worker))

    def settle(self, seq: int, *, token: str, status: str, attempts: int, next_attempt_at: datetime,
               http_status: int | None, error: str | None, delivered_at: datetime | None) -> bool:
        """Release the lease with the attempt's outcome (only the lease holder may)."""
        result = self.conn.execute(
            update(wo).where(wo.c.seq == seq, wo.c.claim_token == token)
            .values(status=status, attempts=attempts, next_attempt_at=next_attempt_at, last_status=http_status,
                    last_error=error, delivered_at=delivered_at, claim_token=None, claimed_until=None))
        return result.rowcount == 1

    def redeliver(self, event_id: str, *, now: datetime) -> bool:
        """Queue an event again (same event id: the receiver deduplicates)."""
        result = self.conn.execute(
            update(wo).where(wo.c.event_id == event_id)
            .values(status=PENDING, next_attempt_at=now, claim_token=None, claimed_until=None))
        return result.rowcount == 1

    def events(self, environment_id: str | None = None, *, status: str | None = None,
               limit: int = 100) -> list[OutboxRow]:
        q = select(wo)
        if environment_id is not None:
            q = q.where(wo.c.environment_id == environment_id)
        if status is not None:
            q = q.where(wo.c.status == status)
        return [_row(r) for r in self.conn.execute(q.order_by(wo.c.seq.desc()).limit(limit))]

    def event(self, event_id: str) -> OutboxRow | None:
        r = self.conn.execute(select(wo).where(wo.c.event_id == event_id)).first()
        return _row(r) if r else None

    def attempts(self, event_id: str) -> list[dict[str, Any]]:
        q = select(wa).where(wa.c.event_id == event_id).order_by(wa.c.attempt)
        return [{"attempt": r.attempt, "at": r.at.isoformat(), "httpStatus": r.http_status, "error": r.error,
                 "worker": r.worker} for r in self.conn.execute(q)]

    def secrets(self, environment_id: str) -> tuple[str, str | None, datetime | None] | None:
        """The environment's webhook secret blob, and its predecessor with the end of its overlap."""
        r = self.conn.execute(select(wds.c.secret, wds.c.previous_secret, wds.c.previous_until)
                              .where(wds.c.environment_id == environment_id)).first()
        return (r.secret, r.previous_secret, r.previous_until) if r else None

    # -- key rotation (``actionmfa keys rotate``) -------------------------------------------------
    def sealed_bodies(self) -> list[tuple[str, str]]:
        """Every event's sealed body (delivered ones too: an operator may redeliver them)."""
        return [(r.event_id, r.body) for r in self.conn.execute(select(wo.c.event_id, wo.c.body).order_by(wo.c.seq))]

    def set_sealed_body(self, event_id: str, blob: str) -> None:
        self.conn.execute(update(wo).where(wo.c.event_id == event_id).values(body=blob))

    def sealed_previous_secrets(self) -> list[tuple[str, str]]:
        """The rotated-out webhook secrets still kept for their overlap."""
        q = select(wds.c.environment_id, wds.c.previous_secret).where(wds.c.previous_secret.is_not(None))
        return [(r.environment_id, r.previous_secret) for r in self.conn.execute(q)]

    def set_sealed_previous_secret(self, environment_id: str, blob: str) -> None:
        self.conn.execute(update(wds).where(wds.c.environment_id == environment_id).values(previous_secret=blob))
