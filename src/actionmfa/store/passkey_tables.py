"""Passkey tables: registered WebAuthn credentials and open ceremonies (challenges).

``passkeys`` keeps what WebAuthn L3 §7.1 step 27 says to store (credential id, COSE public key,
sign count, transports, backup flags, AAGUID) plus the ``possibly_cloned_at`` mark set when a
correctly signed assertion arrives with a counter that did not grow (§6.1.1).

``passkey_challenges`` holds every challenge handed out: bound to user, session and ceremony kind,
valid five minutes, spent (``used_at``) by the first POST that presents it, success or failure.
The row id is the *ceremony id* the hosted page is opened with; the stored options are what that
page hands to ``navigator.credentials``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from actionmfa.store.tables import metadata, ts

passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("credential_id", String(1400), nullable=False),  # base64url, ≤ 1023 bytes decoded
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key
    Column("algorithm", Integer, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("backup_eligible", Boolean, nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("alias", String(200), nullable=True),
    Column("origin", String(300), nullable=True),
    Column("user_agent", String(500), nullable=True),
    ts("created_at", False),
    ts("updated_at", False),
    ts("last_used_at"),
    ts("possibly_cloned_at"),
    # A credential id belongs to one user of an environment (WebAuthn L3 §7.1 step 26).
    Index("uq_passkeys_env_credential", "environment_id", "credential_id", unique=True),
    Index("ix_passkeys_user", "user_id"),
)

passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(36), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("challenge_hash", String(64), nullable=False, unique=True),
    Column("options", JSON, nullable=False),
    ts("created_at", False),
    ts("expires_at", False),
    ts("used_at"),
    Index("ix_passkey_challenges_expires", "expires_at"),
)
