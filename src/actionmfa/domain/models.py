"""Plain records the services pass around (no web or database types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actionmfa.domain.actions import SessionScope
from actionmfa.domain.settings import EnvironmentSettings


@dataclass(frozen=True)
class Environment:
    id: str
    name: str
    settings: EnvironmentSettings
    created_at: datetime
    updated_at: datetime
    version: int = 0  # bumped with every change of settings or signing keys (the workers' caches check it)


@dataclass(frozen=True)
class User:
    id: str
    environment_id: str
    email: str | None
    external_id: str | None
    alias: str | None
    first_name: str | None
    last_name: str | None
    metadata: dict[str, Any] | None
    mfa_backup_code_ack: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Session:
    id: str
    environment_id: str
    user_id: str
    scope: SessionScope
    auth_method: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class RequestMeta:
    """What the transport knows about the caller, for the audit log and rate limits."""

    client_address: str | None = None
    request_id: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class AuthContext:
    """An authenticated SDK request: the environment, the user and the live session."""

    environment: Environment
    user: User
    session: Session
    meta: RequestMeta = field(default_factory=RequestMeta)

    @property
    def settings(self) -> EnvironmentSettings:
        return self.environment.settings
