"""Tables of the MFA core (issue 3); created by migration 0002.

* ``mfa_devices`` — TOTP devices (secret AEAD-encrypted, ``aad = "totp:<device id>"``) with the last
  accepted time step for replay refusal. A partial unique index allows one *verified* TOTP device
  per user; pending ones are replaced on re-registration.
* ``recovery_codes`` — keyed hashes only; ``used_at`` set by one conditional UPDATE.
* ``mfa_user_state`` — per-user MFA facts: the AEAD copy of the current codes while acknowledgement
  is pending (``aad = "recovery:<user id>"``) and the lockout (DESIGN §8). The acknowledgement
  itself is ``users.mfa_backup_code_ack`` (foundation table).
* ``mfa_failures`` — one row per failed code attempt (sliding window).
* ``mfa_tokens`` — hashed MFA tokens bound to user and session.
* ``elevated_tokens`` — one row per minted elevated token (``jti``), spent once if single-use.
* ``audit_log`` — every MFA event; ``id`` is the paging cursor. Nothing secret is written to it.
  Each row is sealed into its environment's keyed hash chain (``chain_*``; ``audit_chain_heads``).
"""

from __future__ import annotations

import sqlalchemy as sa

from actionmfa.store.tables import UTCDateTime, metadata

_TS = UTCDateTime()
_ID = sa.String(36)
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

mfa_devices = sa.Table(
    "mfa_devices",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("secret_enc", sa.Text, nullable=True),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("alias", sa.String(200), nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("verified_at", _TS, nullable=True),
    sa.Index("ix_mfa_devices_user", "user_id"),
    sa.Index(
        "uq_mfa_devices_verified_totp",
        "user_id",
        unique=True,
        sqlite_where=sa.text("verified AND type = 'totp'"),
        postgresql_where=sa.text("verified AND type = 'totp'"),
    ),
)

recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("used_at", _TS, nullable=True),
    sa.UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_hash"),
)

mfa_user_state = sa.Table(
    "mfa_user_state",
    metadata,
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("pending_codes_enc", sa.Text, nullable=True),
    sa.Column("locked_until", _TS, nullable=True),
)

mfa_failures = sa.Table(
    "mfa_failures",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("route", sa.String(32), nullable=False),
    sa.Column("failed_at", _TS, nullable=False),
    sa.Index("ix_mfa_failures_user_time", "user_id", "failed_at"),
)

mfa_tokens = sa.Table(
    "mfa_tokens",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("session_id", _ID, nullable=False),
    sa.Column("single_use", sa.Boolean, nullable=False),
    sa.Column("approval_digest", sa.String(64), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("used_at", _TS, nullable=True),
    sa.Index("ix_mfa_tokens_session", "session_id"),
)

elevated_tokens = sa.Table(
    "elevated_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("session_id", _ID, nullable=False),
    sa.Column("scope", sa.String(500), nullable=False),
    sa.Column("single_use", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("used_at", _TS, nullable=True),
    sa.Index("ix_elevated_tokens_session", "session_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("environment_id", _ID, nullable=True),
    sa.Column("user_id", _ID, nullable=True),
    sa.Column("session_id", _ID, nullable=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("client_address", sa.String(64), nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    # The keyed hash chain (migration 0008, domain/audit_chain.py): NULL on rows older than it.
    # chain_shard (migration 0016): which of the environment's chains the row is sealed in, stored
    # so that verify never re-derives it (the number of shards may change); 0 for older rows.
    sa.Column("chain_shard", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("chain_seq", sa.BigInteger, nullable=True),
    sa.Column("chain_prev", sa.String(64), nullable=True),
    sa.Column("chain_hash", sa.String(64), nullable=True),
    sa.Index("ix_audit_log_env_id", "environment_id", "id"),
    # Two writers that read the same head would write the same position: refused, never forked.
    sa.Index("ux_audit_log_env_seq", "environment_id", "chain_shard", "chain_seq", unique=True),
)

# One row per chain (environment id, "" for rows without one; and shard): the last position and
# its hash, locked and advanced in the transaction that appends (store/repos/audit.py).
audit_chain_heads = sa.Table(
    "audit_chain_heads",
    metadata,
    sa.Column("chain", _ID, primary_key=True),
    sa.Column("shard", sa.SmallInteger, primary_key=True, server_default="0"),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)
