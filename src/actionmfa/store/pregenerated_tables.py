"""Pregenerated wallets (issue 13.1): wallets the operator made for an identity before its user existed.

One row per (environment, identity, chain). Until the identity's first sign-in the wallet lives here
only; sign-in *attaches* it (a ``waas_wallets`` row with ``custody = 'pregenerated'``, the server
share moved there, ``user_id`` set here). ``standin_share`` is the server-side stand-in's share of the
user's side: a Keyring blob (AAD ``waas-standin:<id>``) around an inner AES-256-GCM layer under the
keyring's ``waas-standin`` subkey, so neither the server share's key/AAD nor a copy of the AEAD keys
alone opens it. It is erased (NULL, ``erased_at``) in the transaction that commits the claim's refresh.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from actionmfa.store.tables import metadata, ts

waas_pregenerated = Table(
    "waas_pregenerated",
    metadata,
    Column("id", String(36), primary_key=True),  # the wallet id
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("identity_type", String(16), nullable=False),  # IdentityType
    Column("identifier", String(320), nullable=False),
    Column("chain", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("public_key", String(66), nullable=False),
    Column("server_share", Text, nullable=True),  # Keyring blob, AAD waas-wallet:<id>; NULL once attached
    Column("standin_share", Text, nullable=True),  # Keyring blob, AAD waas-standin:<id>; NULL once erased
    Column("key_ceremony_id", String(36), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    ts("created_at", nullable=False),
    ts("attached_at", nullable=True),
    ts("delivered_at", nullable=True),
    ts("erased_at", nullable=True),
    Index("ux_waas_pregenerated_identity", "environment_id", "identity_type", "identifier", "chain", unique=True),
    Index("ix_waas_pregenerated_user", "user_id"),
)
