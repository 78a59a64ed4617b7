"""Embedded-wallet tables: two-party ECDSA wallets and their open ceremonies.

``waas_wallets`` holds the server party's long-term state. ``server_share`` is a Keyring blob
(AES-256-GCM, key id inside, AAD ``waas-wallet:<id>``) of the JSON ``{x1, paillier: {p, q}, Q}``;
nothing else secret is stored. ``locked_at`` is set when a ceremony produced an invalid signature
(Lindell'17 abort attack, CVE-2023-33242): no further signing until an operator unlocks.
``threshold_scheme`` is ``TWO_OF_TWO`` or ``TWO_OF_THREE``. After a delegation reshare the server
share is the user-pair additive share ``λ_2·s_2``, ``delegate_public_share`` is ``s_3·G``,
``delegate_share`` the Keyring-sealed server share for the pair {server, delegate} with its own
Paillier key (AAD ``waas-delegate:<id>``) and ``delegate_api_key_hash`` the keyed hash of the
wallet API key the delegate signs with.

``waas_delegation_secrets`` holds each environment's HMAC key for delegation webhooks (Keyring blob,
AAD ``waas-delegation-secret:<environment id>``), shown once when it is created.

``waas_delegate_rings`` holds the delegate's ring-Pedersen parameters ``(N̂, ŝ, t̂)`` (public JSON,
stored only after their Πprm verified), against which the server proves each delegate pair set-up.

``waas_ceremonies`` holds one key-generation or signing ceremony between HTTP rounds: its
``stage`` only moves forward with a conditional UPDATE, ``state`` is a Keyring blob (AAD
``waas-ceremony:<id>``) of the server party's secret round state (x1 or k1 …), ``digest`` binds a
signing ceremony to the payload hash the server computed, and ``expires_at`` is 60 s after opening.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from actionmfa.store.tables import metadata, ts

waas_wallets = Table(
    "waas_wallets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("chain", String(16), nullable=False),
    Column("address", String(64), nullable=False),  # EIP-55 hex (42) or base58 (≤ 44)
    Column("public_key", String(66), nullable=False),  # compressed secp256k1 point, hex
    Column("server_share", Text, nullable=False),  # Keyring blob
    Column("key_version", Integer, nullable=False),
    Column("lock_reason", String(64), nullable=True),
    Column("lock_count", Integer, nullable=False),
    ts("created_at", False),
    ts("updated_at", False),
    ts("locked_at"),
    Column("threshold_scheme", String(16), nullable=False, server_default="TWO_OF_TWO"),
    Column("delegate_public_share", String(66), nullable=True),  # s_3·G, compressed hex
    ts("delegated_at"),
    Column("delegate_share", Text, nullable=True),  # Keyring blob: the server's share for the pair {2, 3}
    Column("delegate_api_key_hash", String(64), nullable=True),  # keyed hash of the delegate's API key
    # the ceremony (keygen, refresh, reshare) whose shares are current: lets a device that lost an
    # answer tell which of its written-ahead shares the server committed (NULL: before 0010)
    Column("key_ceremony_id", String(36), nullable=True),
    # PendingAction: the operator's delegation decision the user's next sign-in completes (NULL: none)
    Column("pending_action", String(32), nullable=True),
    # Custody: "pregenerated" while the operator still holds the stand-in share (issue 13.1; NULL: none)
    Column("custody", String(16), nullable=True),
    ts("last_signed_at"),  # the last valid signature (the user's or the delegate's); NULL: none yet
    Index("ix_waas_wallets_user", "user_id"),
)

waas_ceremonies = Table(
    "waas_ceremonies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # NULL for delegated signing (the developer's server authenticates with the wallet's API key)
    Column("session_id", String(36), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True),
    Column("wallet_id", String(36), ForeignKey("waas_wallets.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(16), nullable=False),  # CeremonyKind
    Column("payload_kind", String(16), nullable=True),
    Column("digest", String(64), nullable=True),  # hex keccak digest being signed
    Column("stage", Integer, nullable=False),
    Column("state", Text, nullable=False),  # Keyring blob
    Column("outcome", String(32), nullable=True),
    ts("created_at", False),
    ts("expires_at", False),
    ts("completed_at"),
    Index("ix_waas_ceremonies_expires", "expires_at"),
)

waas_delegation_secrets = Table(
    "waas_delegation_secrets",
    metadata,
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", Text, nullable=False),  # Keyring blob
    ts("created_at", False),
    # rotation with overlap: the secret replaced last keeps signing beside the new one until then
    Column("previous_secret", Text, nullable=True),  # Keyring blob (same AAD)
    ts("previous_until"),
)

waas_delegate_rings = Table(
    "waas_delegate_rings",
    metadata,
    Column("environment_id", String(36), ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True),
    Column("params", Text, nullable=False),  # {"N", "s", "t"} base64url: public, Πprm checked before insert
    Column("digest", String(64), nullable=False),
    ts("created_at", False),
)
