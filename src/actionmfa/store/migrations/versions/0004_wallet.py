"""Embedded wallet: two-party ECDSA wallets and ceremonies.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(36), sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "waas_wallets",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("environment_id", "environments.id"),
        _fk("user_id", "users.id"),
        sa.Column("chain", sa.String(16), nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("public_key", sa.String(66), nullable=False),
        sa.Column("server_share", sa.Text, nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("lock_reason", sa.String(64)),
        sa.Column("lock_count", sa.Integer, nullable=False),
        _ts("created_at", False),
        _ts("updated_at", False),
        _ts("locked_at"),
    )
    op.create_index("ix_waas_wallets_user", "waas_wallets", ["user_id"])
    op.create_table(
        "waas_ceremonies",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("environment_id", "environments.id"),
        _fk("user_id", "users.id"),
        _fk("session_id", "sessions.id"),
        _fk("wallet_id", "waas_wallets.id", nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload_kind", sa.String(16)),
        sa.Column("digest", sa.String(64)),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(32)),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("completed_at"),
    )
    op.create_index("ix_waas_ceremonies_expires", "waas_ceremonies", ["expires_at"])


def downgrade() -> None:
    op.drop_table("waas_ceremonies")
    op.drop_table("waas_wallets")
