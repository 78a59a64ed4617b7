"""Foundation: environments, admin tokens, signing keys, users, sessions, email verifications.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        _ts("created_at", False),
        _ts("updated_at", False),
    )
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE")),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _ts("created_at", False),
        _ts("revoked_at"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column(
            "environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _ts("created_at", False),
        _ts("retired_at"),
    )
    op.create_index("ix_signing_keys_env_purpose", "signing_keys", ["environment_id", "purpose"])
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email", sa.String(320)),
        sa.Column("external_id", sa.String(255)),
        sa.Column("alias", sa.String(200)),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("metadata", sa.JSON),
        sa.Column("mfa_backup_code_ack", sa.String(16)),
        _ts("created_at", False),
        _ts("updated_at", False),
        sa.UniqueConstraint("environment_id", "email", name="uq_users_env_email"),
        sa.UniqueConstraint("environment_id", "external_id", name="uq_users_env_external_id"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("revoked_at"),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "email_verifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "environment_id", sa.String(36), sa.ForeignKey("environments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("used_at"),
    )
    op.create_index("ix_email_verifications_env_email", "email_verifications", ["environment_id", "email"])


def downgrade() -> None:
    for name in ("email_verifications", "sessions", "users", "signing_keys", "admin_tokens", "environments"):
        op.drop_table(name)
