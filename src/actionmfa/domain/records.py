"""Stored records: what the repositories hand back, as plain frozen dataclasses.

The storage interfaces the services need (``services/<area>/ports.py``) are written in these
types, so a service never sees a database row; ``store/repos/`` builds them from its tables. Field
names are the column names. (Environments, users and sessions are in :mod:`actionmfa.domain.models`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Chain, LockReason, Stage

# -- foundation --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdminTokenRow:
    id: str
    environment_id: str | None  # None: an operator token (all environments)


@dataclass(frozen=True, slots=True)
class SigningKeyRow:
    kid: str
    environment_id: str
    purpose: str  # services.core.keys.KeyPurpose
    private_key: str  # Keyring blob
    public_jwk: dict[str, Any]
    active: bool
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class EmailVerificationRow:
    id: str
    environment_id: str
    email: str
    code_hash: str
    attempts: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    environment_id: str | None
    user_id: str | None
    session_id: str | None
    event: str
    action: str | None
    outcome: str | None
    details: dict[str, Any]
    client_address: str | None
    created_at: datetime


# -- the MFA core ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    user_id: str
    type: MFADeviceType
    secret_enc: str | None
    verified: bool
    is_default: bool
    alias: str | None
    last_step: int | None
    created_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class MfaUserState:
    """One user's code-attempt state: the lockout and the pending (not yet acknowledged) codes copy."""

    user_id: str
    pending_codes_enc: str | None
    locked_until: datetime | None
    has_failures: bool = True  # counted failures exist (unknown = True: clearing them is then a no-op)


@dataclass(frozen=True, slots=True)
class MfaTokenRow:
    """An MFA token with the liveness inputs of its session (``s_revoked``, ``s_exp``)."""

    id: str
    user_id: str
    session_id: str
    single_use: bool
    approval_digest: str | None
    used_at: datetime | None
    s_revoked: datetime | None
    s_exp: datetime | None


@dataclass(frozen=True, slots=True)
class ElevatedTokenRow:
    """An elevated token's row (by ``jti``) with its session's liveness inputs."""

    jti: str
    user_id: str
    session_id: str
    scope: str
    single_use: bool
    expires_at: datetime
    used_at: datetime | None
    s_revoked: datetime | None
    s_exp: datetime | None


# -- passkeys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PasskeyRow:
    id: str
    environment_id: str
    user_id: str
    credential_id: str  # base64url
    public_key: bytes
    algorithm: int
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    alias: str | None
    origin: str | None
    user_agent: str | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    possibly_cloned_at: datetime | None


@dataclass(frozen=True)
class ChallengeRow:
    id: str
    environment_id: str
    user_id: str
    session_id: str
    kind: str  # factors.passkey.Ceremony
    options: dict[str, Any]
    expires_at: datetime
    used_at: datetime | None


# -- wallets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletRow:
    id: str
    environment_id: str
    user_id: str
    chain: Chain
    address: str
    public_key: str
    server_share: str
    key_version: int
    lock_reason: LockReason | None
    lock_count: int
    created_at: datetime
    updated_at: datetime
    locked_at: datetime | None
    threshold_scheme: str = "TWO_OF_TWO"  # wallet.reshare.ThresholdScheme
    delegate_public_share: str | None = None
    delegated_at: datetime | None = None
    delegate_share: str | None = None
    delegate_api_key_hash: str | None = None
    key_ceremony_id: str | None = None
    pending_action: str | None = None  # domain.wallets.PendingAction
    last_signed_at: datetime | None = None
    custody: str | None = None  # domain.wallets.Custody (None: the user's own two-party wallet)


@dataclass(frozen=True)
class PregeneratedRow:
    """A wallet the operator made for an identity before its user existed (issue 13.1)."""

    id: str  # the wallet id
    environment_id: str
    identity_type: str  # domain.wallets.IdentityType
    identifier: str
    chain: str
    address: str
    public_key: str
    server_share: str | None  # sealed like waas_wallets.server_share; moved there (None) at attach
    standin_share: str | None  # sealed stand-in share; None once erased
    key_ceremony_id: str
    user_id: str | None
    created_at: datetime
    attached_at: datetime | None
    delivered_at: datetime | None
    erased_at: datetime | None


@dataclass(frozen=True)
class CeremonyRow:
    id: str
    environment_id: str
    user_id: str
    session_id: str | None
    wallet_id: str | None
    kind: CeremonyKind
    payload_kind: str | None  # wallet.payloads.PayloadKind
    digest: str | None
    stage: Stage
    state: str
    outcome: CeremonyOutcome | None
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class OutboxRow:
    """A ``webhook_outbox`` row (the body still sealed)."""

    seq: int
    event_id: str
    environment_id: str
    ordering_key: str
    event_name: str
    url: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    claim_token: str | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class AuditSource:
    """An audit row a webhook event is derived from."""

    id: int
    environment_id: str
    user_id: str | None
    event: str
    details: dict[str, Any]
    created_at: datetime
