"""The webhook outbox (issue 13.4): events written in the transaction that caused them, delivered later.

``webhook_outbox`` holds one row per event: ``seq`` orders the events (per ``ordering_key`` — the
wallet or user the event is about — they are delivered strictly in that order), ``event_id`` is the
idempotency key the receiver sees (``webhook-id``), ``body`` the Keyring-sealed JSON (AAD
``webhook-outbox:<event id>``: a delegation event carries sealed shares and a wallet API key),
``source_audit_id`` the audit row an event was derived from (unique: relayed once). A worker claims
a row by a conditional UPDATE setting ``claim_token`` and ``claimed_until`` (a lease).
``webhook_attempts`` is the delivery history: one row per attempt, unique per (event, attempt), so two
workers can never both make the same attempt.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from actionmfa.store.tables import metadata, ts

_SEQ = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("ordering_key", String(64), nullable=False),
    Column("event_name", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),  # Keyring blob
    Column("source_audit_id", BigInteger, nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # WebhookStatus
    Column("attempts", Integer, nullable=False),
    ts("next_attempt_at", False),
    ts("claimed_until"),
    Column("claim_token", String(36), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    ts("created_at", False),
    ts("delivered_at"),
    Index("ix_webhook_outbox_due", "status", "next_attempt_at"),
    Index("ix_webhook_outbox_order", "ordering_key", "seq"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), ForeignKey("webhook_outbox.event_id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    ts("at", False),
    Column("http_status", Integer, nullable=True),
    Column("error", String(200), nullable=True),
    Column("worker", String(64), nullable=False),
    UniqueConstraint("event_id", "attempt", name="uq_webhook_attempts_event_attempt"),
)
