"""What the core services need from storage, as ``typing.Protocol``s.

Every area declares the storage it uses in its own ``ports.py``, and its unit-of-work protocol
extends :class:`CoreUnit` (every area audits, and the gate runs inside any area's transaction).
``actionmfa.store.uow.UnitOfWork`` satisfies all of them; mypy checks that wherever a service is
handed a real unit of work, and ``tests/contract/test_ports.py`` checks it on SQLite and PostgreSQL.
Services are given a :class:`Transactions` (the ``Database``), never a store module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from actionmfa.domain.actions import SessionScope
from actionmfa.domain.models import Environment, Session, User
from actionmfa.domain.records import (
    AdminTokenRow,
    AuditRow,
    AuditSource,
    ElevatedTokenRow,
    MfaTokenRow,
    OutboxRow,
    SigningKeyRow,
)
from actionmfa.domain.settings import EnvironmentSettings

U_co = TypeVar("U_co", covariant=True)


class Transactions(Protocol[U_co]):
    """``read()`` / ``write()`` each open one transaction and yield its unit of work (SQLite write:
    ``BEGIN IMMEDIATE``; PostgreSQL: READ COMMITTED with row locks). Commit on a clean exit."""

    def read(self) -> AbstractContextManager[U_co]: ...

    def write(self) -> AbstractContextManager[U_co]: ...


@runtime_checkable
class EnvironmentStore(Protocol):
    def add(self, *, id: str, name: str, settings: EnvironmentSettings, now: datetime) -> Environment: ...

    def get(self, environment_id: str) -> Environment | None: ...

    def update(
        self, environment_id: str, *, name: str | None, settings: EnvironmentSettings | None, now: datetime
    ) -> None: ...

    def list(self) -> list[Environment]: ...

    def count(self) -> int: ...


@runtime_checkable
class AdminTokenStore(Protocol):
    def add(self, *, id: str, environment_id: str | None, token_hash: str, now: datetime) -> None: ...

    def find_active(self, token_hash: str) -> AdminTokenRow | None: ...

    def revoke_for_environment(self, environment_id: str, now: datetime) -> None: ...


@runtime_checkable
class SigningKeyStore(Protocol):
    def add(
        self,
        *,
        kid: str,
        environment_id: str,
        purpose: str,
        private_key: str,
        public_jwk: dict[str, Any],
        now: datetime,
    ) -> None: ...

    def retire_active(self, environment_id: str, purpose: str, now: datetime) -> None: ...

    def active(self, environment_id: str, purpose: str) -> SigningKeyRow | None: ...

    def verifiable(self, environment_id: str, purpose: str, not_retired_before: datetime) -> list[SigningKeyRow]: ...

    def get(self, kid: str) -> SigningKeyRow | None: ...

    def all(self) -> list[SigningKeyRow]: ...

    def set_private_key(self, kid: str, sealed: str) -> None: ...


@runtime_checkable
class UserStore(Protocol):
    def add(
        self, *, id: str, environment_id: str, email: str | None, external_id: str | None, now: datetime
    ) -> User: ...

    def add_unique(
        self, *, id: str, environment_id: str, email: str | None, external_id: str | None, now: datetime
    ) -> User | None: ...

    def get(self, environment_id: str, user_id: str) -> User | None: ...

    def environment_of(self, user_id: str) -> str | None: ...

    def by_email(self, environment_id: str, email: str) -> User | None: ...

    def by_external_id(self, environment_id: str, external_id: str) -> User | None: ...

    def update(self, user_id: str, now: datetime, **values: Any) -> None: ...

    def update_returning(self, environment_id: str, user_id: str, now: datetime, **values: Any) -> User | None: ...

    def list(self, environment_id: str, *, limit: int = 100, after_id: str | None = None) -> list[User]: ...


@runtime_checkable
class SessionStore(Protocol):
    def add(
        self,
        *,
        id: str,
        environment_id: str,
        user_id: str,
        scope: SessionScope,
        auth_method: str,
        now: datetime,
        expires_at: datetime,
    ) -> Session: ...

    def get(self, session_id: str) -> Session | None: ...

    def with_user_and_environment(self, session_id: str) -> tuple[Session, User, Environment] | None: ...

    def with_user(self, session_id: str) -> tuple[Session, User, str, int] | None: ...

    def set_scope(self, session_id: str, scope: SessionScope) -> None: ...

    def extend(self, session_id: str, expires_at: datetime) -> None: ...

    def revoke(self, session_id: str, now: datetime) -> bool: ...


@runtime_checkable
class TokenStore(Protocol):
    """MFA tokens (keyed hashes) and elevated tokens (one row per ``jti``)."""

    def add_mfa_token(
        self,
        *,
        id: str,
        token_hash: str,
        user_id: str,
        session_id: str,
        single_use: bool,
        approval_digest: str | None,
        created_at: datetime,
    ) -> None: ...

    def mfa_token(self, token_hash: str) -> MfaTokenRow | None: ...

    def spend_mfa_token(self, token_id: str, now: datetime) -> bool: ...

    def spend_mfa_token_of_session(
        self,
        token_hash: str,
        *,
        user_id: str,
        session_id: str,
        approval_digest: str | None,
        now: datetime,
        while_devices: bool = False,
        while_passkeys: bool = False,
    ) -> tuple[str, bool] | None: ...

    def touch_mfa_token(self, token_id: str, now: datetime) -> None: ...

    def add_elevated(
        self,
        *,
        jti: str,
        user_id: str,
        session_id: str,
        scope: str,
        single_use: bool,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...

    def elevated(self, jti: str) -> ElevatedTokenRow | None: ...

    def spend_elevated(self, jti: str, now: datetime) -> bool: ...

    def purge_session_tokens(self, session_id: str, now: datetime) -> None: ...


@runtime_checkable
class AuditStore(Protocol):
    def add(self, values: Mapping[str, Any]) -> None: ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def page(self, environment_id: str, *, before_id: int | None, limit: int) -> list[AuditRow]: ...


@runtime_checkable
class DeviceCounts(Protocol):
    """The one MFA-core fact the gate needs: how many verified TOTP devices a user has."""

    def count_verified_devices(self, user_id: str) -> int: ...


@runtime_checkable
class PasskeyCounts(Protocol):
    """The one passkey fact the gate needs: how many passkeys a user has stored."""

    def count_for_user(self, user_id: str) -> int: ...


class WebhookStore(Protocol):
    """The webhook outbox (:mod:`actionmfa.services.core.webhooks`)."""

    def enqueue(self, *, event_id: str, environment_id: str, ordering_key: str, event_name: str, url: str,
                body: str, now: datetime, source_audit_id: int | None = None) -> bool: ...

    def unrelayed_audit(self, events: Iterable[str], *, limit: int) -> list[AuditSource]: ...

    def due(self, now: datetime, *, limit: int, event_id: str | None = None) -> list[OutboxRow]: ...

    def claim(self, seq: int, *, token: str, now: datetime, until: datetime) -> bool: ...

    def record_attempt(self, event_id: str, attempt: int, *, now: datetime, http_status: int | None,
                       error: str | None, worker: str) -> None: ...

    def settle(self, seq: int, *, token: str, status: str, attempts: int, next_attempt_at: datetime,
               http_status: int | None, error: str | None, delivered_at: datetime | None) -> bool: ...

    def redeliver(self, event_id: str, *, now: datetime) -> bool: ...

    def events(self, environment_id: str | None = None, *, status: str | None = None,
               limit: int = 100) -> list[OutboxRow]: ...

    def event(self, event_id: str) -> OutboxRow | None: ...

    def attempts(self, event_id: str) -> list[dict[str, Any]]: ...

    def secrets(self, environment_id: str) -> tuple[str, str | None, datetime | None] | None: ...

    def sealed_bodies(self) -> list[tuple[str, str]]: ...

    def set_sealed_body(self, event_id: str, blob: str) -> None: ...

    def sealed_previous_secrets(self) -> list[tuple[str, str]]: ...

    def set_sealed_previous_secret(self, environment_id: str, blob: str) -> None: ...


class AuditUnit(Protocol):
    @property
    def audit(self) -> AuditStore: ...


class CoreUnit(AuditUnit, Protocol):
    """The storage every area's transaction offers (each area's unit extends it)."""

    @property
    def environments(self) -> EnvironmentStore: ...

    @property
    def admin_tokens(self) -> AdminTokenStore: ...

    @property
    def signing_keys(self) -> SigningKeyStore: ...

    @property
    def users(self) -> UserStore: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def mfa(self) -> DeviceCounts: ...

    @property
    def passkeys(self) -> PasskeyCounts: ...

    @property
    def webhooks(self) -> WebhookStore: ...
