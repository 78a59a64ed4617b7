"""The session lifecycle after sign-in: ``POST …/refresh`` extends it, ``POST …/logout`` (and
``…/revoke``) ends it — and with it every MFA token of the session (DESIGN §3)."""

from __future__ import annotations

from actionmfa.domain.models import AuthContext
from actionmfa.services.core.ports import CoreUnit, Transactions
from actionmfa.services.core.sessions import IssuedSession, SessionService


class SessionLifecycle:
    def __init__(self, db: Transactions[CoreUnit], sessions: SessionService) -> None:
        self.db = db
        self.sessions = sessions

    def refresh(self, ctx: AuthContext) -> IssuedSession:
        """One more lifetime from now, and a new JWT."""
        with self.db.write() as uow:
            return self.sessions.refresh(uow, ctx)

    def logout(self, ctx: AuthContext) -> None:
        with self.db.write() as uow:
            self.sessions.logout(uow, ctx)
