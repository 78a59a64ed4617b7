"""Unit of work: one connection in one transaction, with the repositories that use it.

Services reach storage only through these attributes (typed by the ports each area declares,
``services/<area>/ports.py``); the repositories are built on first use and share the connection.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import TYPE_CHECKING, Any

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


class UnitOfWork:
    def __init__(self, conn: Connection, *, audit_key: bytes | None = None) -> None:
        self.conn = conn
        self.audit_key = audit_key

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

    @cached_property
    def environments(self) -> EnvironmentRepo:
        from actionmfa.store.repos.core import EnvironmentRepo

        return EnvironmentRepo(self.conn)

    @cached_property
    def admin_tokens(self) -> AdminTokenRepo:
        from actionmfa.store.repos.core import AdminTokenRepo

        return AdminTokenRepo(self.conn)

    @cached_property
    def signing_keys(self) -> SigningKeyRepo:
        from actionmfa.store.repos.core import SigningKeyRepo

        return SigningKeyRepo(self.conn)

    @cached_property
    def users(self) -> UserRepo:
        from actionmfa.store.repos.core import UserRepo

        return UserRepo(self.conn)

    @cached_property
    def sessions(self) -> SessionRepo:
        from actionmfa.store.repos.core import SessionRepo

        return SessionRepo(self.conn)

    @cached_property
    def email_verifications(self) -> EmailVerificationRepo:
        from actionmfa.store.repos.core import EmailVerificationRepo

        return EmailVerificationRepo(self.conn)

    @cached_property
    def signin_attempts(self) -> SignInAttemptRepo:
        from actionmfa.store.repos.signin import SignInAttemptRepo

        return SignInAttemptRepo(self.conn)

    @cached_property
    def audit(self) -> AuditRepo:
        from actionmfa.store.repos.audit import AuditRepo

        return AuditRepo(self.conn, self.audit_key)

    @cached_property
    def tokens(self) -> TokenRepo:
        from actionmfa.store.repos.tokens import TokenRepo

        return TokenRepo(self.conn)

    @cached_property
    def mfa(self) -> MfaRepo:
        from actionmfa.store.repos.mfa import MfaRepo

        return MfaRepo(self.conn)

    @cached_property
    def credentials(self) -> CredentialRepo:
        from actionmfa.store.repos.credentials import CredentialRepo

        return CredentialRepo(self.conn)

    @cached_property
    def passkeys(self) -> PasskeyRepo:
        from actionmfa.store.repos.passkeys import PasskeyRepo

        return PasskeyRepo(self.conn)

    @cached_property
    def pregenerated(self) -> PregeneratedRepo:
        from actionmfa.store.repos.pregenerated import PregeneratedRepo

        return PregeneratedRepo(self.conn)

    @cached_property
    def wallets(self) -> WalletRepo:
        from actionmfa.store.repos.wallets import WalletRepo

        return WalletRepo(self.conn)

    @cached_property
    def webhooks(self) -> WebhookRepo:
        from actionmfa.store.repos.webhooks import WebhookRepo

        return WebhookRepo(self.conn)

    @cached_property
    def ops(self) -> OpsRepo:
        from actionmfa.store.repos.ops import OpsRepo

        return OpsRepo(self.conn)
