"""Webhook outbox and delivery history; the webhook secret's predecessor kept for an overlap.

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_outbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("ordering_key", sa.String(64), nullable=False),
        sa.Column("event_name", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("source_audit_id", sa.BigInteger, nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_webhook_outbox_due", "webhook_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_outbox_order", "webhook_outbox", ["ordering_key", "seq"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("webhook_outbox.event_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.UniqueConstraint("event_id", "attempt", name="uq_webhook_attempts_event_attempt"),
    )
    with op.batch_alter_table("waas_delegation_secrets") as batch:
        batch.add_column(sa.Column("previous_secret", sa.Text, nullable=True))
        batch.add_column(sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waas_delegation_secrets") as batch:
        batch.drop_column("previous_until")
        batch.drop_column("previous_secret")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_outbox_order", table_name="webhook_outbox")
    op.drop_index("ix_webhook_outbox_due", table_name="webhook_outbox")
    op.drop_table("webhook_outbox")
