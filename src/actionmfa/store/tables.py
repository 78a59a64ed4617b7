"""Shared metadata and the foundation's tables (environments, keys, users, sessions, sign-in).

Other areas define their tables in their own modules against the same :data:`metadata`;
:mod:`actionmfa.store.schema` imports them all. Alembic migrations are the source of truth for the
database; these definitions are what the code queries with, and a test checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if when.tzinfo is None:
            return when.replace(tzinfo=UTC)
        return when.astimezone(UTC)


def ts(name: str, nullable: bool = True) -> Column[datetime]:
    """A timestamp column; every table uses this (or UTCDateTime) for times."""
    return Column(name, UTCDateTime(), nullable=nullable)


environments = Table(
    "environments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    ts("created_at", False),
    ts("updated_at", False),
    # Bumped with every change of the settings or the signing keys: the workers' caches check it.
    Column("version", BigInteger, nullable=False, server_default="0"),
)

# Admin tokens: environment_id NULL = operator token (all environments, may create environments).
admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    ts("created_at", False),
    ts("revoked_at"),
)

# Signing keys: purpose 'session' (session JWTs, published as JWKS) or 'elevated' (step-up tokens).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("private_key", Text, nullable=False),  # Keyring-sealed PKCS#8 PEM
    Column("public_jwk", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    ts("created_at", False),
    ts("retired_at"),
    Index("ix_signing_keys_env_purpose", "environment_id", "purpose"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=True),
    Column("external_id", String(255), nullable=True),
    Column("alias", String(200), nullable=True),
    Column("first_name", String(200), nullable=True),
    Column("last_name", String(200), nullable=True),
    Column("metadata", JSON, nullable=True),
    Column("mfa_backup_code_ack", String(16), nullable=True),
    ts("created_at", False),
    ts("updated_at", False),
    UniqueConstraint("environment_id", "email", name="uq_users_env_email"),
    UniqueConstraint("environment_id", "external_id", name="uq_users_env_external_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("auth_method", String(32), nullable=False),
    ts("created_at", False),
    ts("expires_at", False),
    ts("revoked_at"),
    Index("ix_sessions_user", "user_id"),
)

email_verifications = Table(
    "email_verifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    ts("created_at", False),
    ts("expires_at", False),
    ts("used_at"),
    Index("ix_email_verifications_env_email", "environment_id", "email"),
)


# One row per counted event of the unauthenticated sign-in routes (DESIGN §8, issue 11.1): codes
# sent and wrong codes per address and client, failed external sign-ins per client. Counted over a
# sliding window by services/signin/throttle.py; purged by the janitor once older than the window.
signin_attempts = Table(
    "signin_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("email", String(320), nullable=True),
    Column("client", String(64), nullable=False),
    ts("at", False),
    Index("ix_signin_attempts_env_email", "environment_id", "email", "at"),
    Index("ix_signin_attempts_env_client", "environment_id", "client", "at"),
    Index("ix_signin_attempts_at", "at"),
)
