"""Passkeys: WebAuthn credentials and ceremony challenges.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(name: str, target: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(36), sa.ForeignKey(target, ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("environment_id", "environments.id"),
        _fk("user_id", "users.id"),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("algorithm", sa.Integer, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.JSON, nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean, nullable=False),
        sa.Column("backed_up", sa.Boolean, nullable=False),
        sa.Column("alias", sa.String(200)),
        sa.Column("origin", sa.String(300)),
        sa.Column("user_agent", sa.String(500)),
        _ts("created_at", False),
        _ts("updated_at", False),
        _ts("last_used_at"),
        _ts("possibly_cloned_at"),
    )
    op.create_index("uq_passkeys_env_credential", "passkeys", ["environment_id", "credential_id"], unique=True)
    op.create_index("ix_passkeys_user", "passkeys", ["user_id"])
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("environment_id", "environments.id"),
        _fk("user_id", "users.id"),
        _fk("session_id", "sessions.id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("challenge_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("options", sa.JSON, nullable=False),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("used_at"),
    )
    op.create_index("ix_passkey_challenges_expires", "passkey_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_table("passkey_challenges")
    op.drop_table("passkeys")
