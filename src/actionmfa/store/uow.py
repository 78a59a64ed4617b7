"""Unit of work: one connection in one transaction, with the repositories that use it.

Services reach storage only through these attributes (typed by the ports each area declares,
``services/<area>/ports.py``); the repositories are built on first use and share the connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from actionmfa.store.repos.audit import AuditRepo
    from actionmfa.store.repos.core import (
        AdminTokenRepo,
        EmailVerificationRepo,
        EnvironmentRepo,
        SessionRepo,
        SigningKeyRepo,
        UserRepo,
    )
    from actionmfa.store.repos.credentials import CredentialRepo
    from actionmfa.store.repos.mfa import MfaRepo
    from actionmfa.store.repos.ops import OpsRepo
    from actionmfa.store.repos.passkeys import PasskeyRepo
    from actionmfa.store.repos.pregenerated import PregeneratedRepo
    from actionmfa.store.repos.signin import SignInAttemptRepo
    from actionmfa.store.repos.tokens import TokenRepo
    from actionmfa.store.repos.wallets import WalletRepo
    from actionmfa.store.repos.webhooks import WebhookRepo


R = TypeVar("R")


class _repository(Generic[R]):
    """``functools.cached_property`` without its lock: Python 3.11's takes an RLock at each first
    access (five per MFA authentication, issue 15); a unit of work belongs to one thread."""

    def __init__(self, build: Callable[[Any], R]) -> None:
        self.build = build
        self.name = build.__name__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _repository[R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> R: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> R | _repository[R]:
        if obj is None:
            return self
        value = self.build(obj)
        obj.__dict__[self.name] = value  # later reads find it there (a non-data descriptor)
        return value


class UnitOfWork:
    def __init__(self, conn: Connection, *, audit_key: bytes | None = None, audit_shards: int | None = None) -> None:
        self.conn = conn
        self.audit_key = audit_key
        self.audit_shards = audit_shards  # None: the dialect's default (store/repos/audit.py)

    def before_commit(self) -> list[dict[str, Any]]:
        """Called by :class:`Database` as the transaction is about to commit: seal the audit rows
        (returned, for the observers told after the commit)."""
        if "audit" in self.__dict__:  # the repository was used
            return self.audit.flush()
        return []

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def try_lock(self, name: str) -> bool:
        """Claim ``name`` for this transaction without waiting: PostgreSQL's
        ``pg_try_advisory_xact_lock`` (false if another transaction holds it); on SQLite a write
        transaction already excludes every other (BEGIN IMMEDIATE), so the claim always succeeds."""
        if self.dialect != "postgresql":
            return True
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        return bool(self.conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar_one())

    @_repository
    def environments(self) -> EnvironmentRepo:
        from actionmfa.store.repos.core import EnvironmentRepo

        return EnvironmentRepo(self.conn)

    @_repository
    def admin_tokens(self) -> AdminTokenRepo:
        from actionmfa.store.repos.core import AdminTokenRepo

        return AdminTokenRepo(self.conn)

    @_repository
    def signing_keys(self) -> SigningKeyRepo:
        from actionmfa.store.repos.core import SigningKeyRepo

        return SigningKeyRepo(self.conn)

    @_repository
    def users(self) -> UserRepo:
        from actionmfa.store.repos.core import UserRepo

        return UserRepo(self.conn)

    @_repository
    def sessions(self) -> SessionRepo:
        from actionmfa.store.repos.core import SessionRepo

        return SessionRepo(self.conn)

    @_repository
    def email_verifications(self) -> EmailVerificationRepo:
        from actionmfa.store.repos.core import EmailVerificationRepo

        return EmailVerificationRepo(self.conn)

    @_repository
    def signin_attempts(self) -> SignInAttemptRepo:
        from actionmfa.store.repos.signin import SignInAttemptRepo

        return SignInAttemptRepo(self.conn)

    @_repository
    def audit(self) -> AuditRepo:
        from actionmfa.store.repos.audit import AuditRepo

        return AuditRepo(self.conn, self.audit_key, self.audit_shards)

    @_repository
    def tokens(self) -> TokenRepo:
        from actionmfa.store.repos.tokens import TokenRepo

        return TokenRepo(self.conn)

    @_repository
    def mfa(self) -> MfaRepo:
        from actionmfa.store.repos.mfa import MfaRepo

        return MfaRepo(self.conn)

    @_repository
    def credentials(self) -> CredentialRepo:
        from actionmfa.store.repos.credentials import CredentialRepo

        return CredentialRepo(self.conn)

    @_repository
    def passkeys(self) -> PasskeyRepo:
        from actionmfa.store.repos.passkeys import PasskeyRepo

        return PasskeyRepo(self.conn)

    @_repository
    def pregenerated(self) -> PregeneratedRepo:
        from actionmfa.store.repos.pregenerated import PregeneratedRepo

        return PregeneratedRepo(self.conn)

    @_repository
    def wallets(self) -> WalletRepo:
        from actionmfa.store.repos.wallets import WalletRepo

        return WalletRepo(self.conn)

    @_repository
    def webhooks(self) -> WebhookRepo:
        from actionmfa.store.repos.webhooks import WebhookRepo

        return WebhookRepo(self.conn)

    @_repository
    def ops(self) -> OpsRepo:
        from actionmfa.store.repos.ops import OpsRepo

        return OpsRepo(self.conn)
