"""What every primary sign-in method shares: find or create the user, open the session.

The new session's scope comes from the MFA core's rule (:func:`actionmfa.services.mfa.methods.sign_in_scope`,
DESIGN §3 session-based MFA): ``requiresAdditionalAuth`` while the user must still prove (or, under
``enrollment: signup``, enrol) a second factor, ``user:basic`` otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum

from actionmfa.clock import Clock
from actionmfa.domain.models import Environment, User
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.ports import CoreUnit
from actionmfa.services.core.sessions import IssuedSession, SessionService
from actionmfa.services.mfa.methods import sign_in_scope

# Runs in the sign-in's transaction once the user is known (pregenerated wallets attach here, issue
# 13.1); wired by the composition root, since the sign-in area imports no other area.
SignInHook = Callable[[CoreUnit, Environment, User], None]


class SignInMethod(StrEnum):
    """``sessions.auth_method``."""

    EMAIL = "email"
    EXTERNAL = "external"


class Accounts:
    def __init__(self, sessions: SessionService, clock: Clock, hooks: list[SignInHook] | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.hooks: list[SignInHook] = hooks if hooks is not None else []

    def find_or_create_user(
        self, uow: CoreUnit, env: Environment, *, email: str | None = None, external_id: str | None = None
    ) -> tuple[User, bool]:
        """The user with this email (or external id) in ``env``; created on first sign-in.

        Two first sign-ins of one person racing on two workers: the loser's insert hits the unique
        constraint inside a savepoint and reads the winner's row instead of failing.
        """
        if (email is None) == (external_id is None):
            raise ValueError("exactly one of email / external_id")

        def lookup() -> User | None:
            if email is not None:
                return uow.users.by_email(env.id, email)
            assert external_id is not None  # noqa: S101
            return uow.users.by_external_id(env.id, external_id)

        user = lookup()
        if user is not None:
            return user, False
        user = uow.users.add_unique(
            id=str(uuid.uuid4()), environment_id=env.id, email=email, external_id=external_id, now=self.clock.now()
        )
        if user is not None:
            return user, True
        user = lookup()
        if user is None:  # the unique index refused it, yet nobody holds the address: a real failure
            raise RuntimeError("user creation refused by the store")
        return user, False

    def open_session(
        self,
        uow: CoreUnit,
        env: Environment,
        user: User,
        *,
        method: SignInMethod,
        created: bool,
        client_address: str | None = None,
    ) -> IssuedSession:
        """Start the session with the scope session-based MFA asks for, and audit the sign-in."""
        for hook in self.hooks:
            hook(uow, env, user)
        scope = sign_in_scope(uow, env, user)
        issued = self.sessions.start(uow, env, user, auth_method=method.value, scope=scope)
        now = self.clock.now()
        ids = AuditIds(env.id, user.id, issued.session.id, client_address)
        if created:
            audit.record(uow, ids, AuditEvent.USER_CREATED, now=now, outcome="ok", method=method.value)
        audit.record(uow, ids, AuditEvent.SIGNED_IN, now=now, outcome="ok", method=method.value, scope=scope.value)
        return issued
