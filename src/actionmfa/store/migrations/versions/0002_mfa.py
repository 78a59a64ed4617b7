"""MFA core: TOTP devices, recovery codes, per-user MFA state, failures, MFA and elevated tokens, audit.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "mfa_devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("secret_enc", sa.Text),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("alias", sa.String(200)),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("verified_at", _TS),
    )
    op.create_index("ix_mfa_devices_user", "mfa_devices", ["user_id"])
    op.create_index(
        "uq_mfa_devices_verified_totp",
        "mfa_devices",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("verified AND type = 'totp'"),
        postgresql_where=sa.text("verified AND type = 'totp'"),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
        sa.UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_hash"),
    )
    op.create_table(
        "mfa_user_state",
        sa.Column("user_id", sa.String(36), _user_fk(), primary_key=True),
        sa.Column("pending_codes_enc", sa.Text),
        sa.Column("locked_until", _TS),
    )
    op.create_table(
        "mfa_failures",
        sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("failed_at", _TS, nullable=False),
    )
    op.create_index("ix_mfa_failures_user_time", "mfa_failures", ["user_id", "failed_at"])
    op.create_table(
        "mfa_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("single_use", sa.Boolean, nullable=False),
        sa.Column("approval_digest", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
    )
    op.create_index("ix_mfa_tokens_session", "mfa_tokens", ["session_id"])
    op.create_table(
        "elevated_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), _user_fk(), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("single_use", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
    )
    op.create_index("ix_elevated_tokens_session", "elevated_tokens", ["session_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(36)),
        sa.Column("user_id", sa.String(36)),
        sa.Column("session_id", sa.String(36)),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("client_address", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_audit_log_env_id", "audit_log", ["environment_id", "id"])


def downgrade() -> None:
    for name in (
        "audit_log",
        "elevated_tokens",
        "mfa_tokens",
        "mfa_failures",
        "mfa_user_state",
        "recovery_codes",
        "mfa_devices",
    ):
        op.drop_table(name)
