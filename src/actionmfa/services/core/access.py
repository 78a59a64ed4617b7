"""Who is calling: the session behind a bearer JWT, or the admin principal behind an admin token.

The API's dependencies (``api/deps.py``) call these once per request; each opens one read
transaction of its own.
"""

from __future__ import annotations

from actionmfa.domain.models import AuthContext, RequestMeta
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.services.core.ports import CoreUnit, Transactions
from actionmfa.services.core.sessions import SessionService


class Access:
    def __init__(self, db: Transactions[CoreUnit], sessions: SessionService, environments: EnvironmentService) -> None:
        self.db = db
        self.sessions = sessions
        self.environments = environments

    def session(self, environment_id: str, token: str, meta: RequestMeta) -> AuthContext:
        """A live session of this environment (also one still waiting for session MFA); 401 otherwise."""
        with self.db.read() as uow:
            return self.sessions.authenticate(uow, environment_id, token, meta)

    def admin(self, token: str) -> AdminPrincipal:
        """The principal of an active admin token (operator or per environment); 401 otherwise."""
        with self.db.read() as uow:
            return self.environments.authenticate_admin(uow, token)
