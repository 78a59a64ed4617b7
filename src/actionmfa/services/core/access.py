"""Who is calling: the session behind a bearer JWT, or the admin principal behind an admin token.

The API's dependencies (``api/deps.py``) call these once per request. :meth:`Access.session`
opens a read transaction of its own; :meth:`Access.presented` checks only the JWT (no
transaction while this process has the key cached), for the use cases that read the session row
in their own transaction (:class:`~actionmfa.services.core.sessions.PresentedSession`, issue 15).
"""

from __future__ import annotations

from actionmfa.domain.credentials import VerifiedCredential
from actionmfa.domain.models import AuthContext, RequestMeta
from actionmfa.services.core.credentials import Credentials, CredentialsUnit
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import PresentedSession, SessionService


class Access:
    def __init__(
        self, db: Transactions[CredentialsUnit], sessions: SessionService, environments: EnvironmentService
    ) -> None:
        self.db = db
        self.sessions = sessions
        self.environments = environments

    def session(self, environment_id: str, token: str, meta: RequestMeta) -> AuthContext:
        """A live session of this environment (also one still waiting for session MFA); 401 otherwise."""
        if not self.sessions.needs_key(environment_id, token):
            presented = self.sessions.verify(None, environment_id, token, meta)  # no transaction held
            with self.db.read() as uow:
                return self.sessions.load(uow, presented)
        with self.db.read() as uow:
            return self.sessions.authenticate(uow, environment_id, token, meta)

    def presented(self, environment_id: str, token: str, meta: RequestMeta) -> PresentedSession:
        """The JWT's signature and claims checked (401 otherwise), its session row not yet read.
        CPU only while :meth:`needs_key` is false; else one read transaction for the key."""
        if not self.sessions.needs_key(environment_id, token):
            return self.sessions.verify(None, environment_id, token, meta)
        with self.db.read() as uow:
            return self.sessions.verify(uow, environment_id, token, meta)

    def with_credentials(self, presented: PresentedSession) -> tuple[AuthContext, list[VerifiedCredential]]:
        """The live session (401 otherwise) and its user's verified credentials, in one read
        transaction (``GET /users``: issue 15, one transaction and one thread hop instead of two)."""
        with self.db.read() as uow:
            ctx = self.sessions.load(uow, presented)
            return ctx, Credentials.in_unit(uow, ctx.user)

    def needs_key(self, environment_id: str, token: str) -> bool:
        """Whether :meth:`presented` would need the database (the JWT's key is not cached here)."""
        return self.sessions.needs_key(environment_id, token)

    def admin(self, token: str) -> AdminPrincipal:
        """The principal of an active admin token (operator or per environment); 401 otherwise."""
        with self.db.read() as uow:
            return self.environments.authenticate_admin(uow, token)
