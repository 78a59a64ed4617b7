"""What every primary sign-in method shares: find or create the user, open the session.

The new session's scope comes from the MFA core's rule (:func:`actionmfa.services.mfa.service.sign_in_scope`,
DESIGN §3 session-based MFA): ``requiresAdditionalAuth`` while the user must still prove (or, under
``enrollment: signup``, enrol) a second factor, ``user:basic`` otherwise.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from actionmfa.domain.models import Environment, User
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditIds
from actionmfa.services.core.sessions import IssuedSession
from actionmfa.services.mfa.service import sign_in_scope
from actionmfa.services.runtime import Runtime
from actionmfa.store.uow import UnitOfWork


class SignInMethod(StrEnum):
    EMAIL = "email"
    EXTERNAL = "external"


SIGNED_IN_EVENT = "auth.signed_in"
USER_CREATED_EVENT = "auth.user_created"


def find_or_create_user(
    uow: UnitOfWork, runtime: Runtime, env: Environment, *, email: str | None = None, external_id: str | None = None
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
    try:
        with uow.conn.begin_nested():
            user = uow.users.add(
                id=str(uuid.uuid4()),
                environment_id=env.id,
                email=email,
                external_id=external_id,
                now=runtime.clock.now(),
            )
    except IntegrityError:
        user = lookup()
        if user is None:
            raise
        return user, False
    return user, True


def open_session(
    uow: UnitOfWork, runtime: Runtime, env: Environment, user: User, *, method: SignInMethod, created: bool,
    client_address: str | None = None,
) -> IssuedSession:
    """Start the session with the scope session-based MFA asks for, and audit the sign-in."""
    scope = sign_in_scope(uow, env, user)
    issued = runtime.sessions.start(uow, env, user, auth_method=method.value, scope=scope)
    now = runtime.clock.now()
    ids = AuditIds(env.id, user.id, issued.session.id, client_address)
    if created:
        audit.record(uow, ids, USER_CREATED_EVENT, now=now, outcome="ok", method=method.value)
    audit.record(uow, ids, SIGNED_IN_EVENT, now=now, outcome="ok", method=method.value, scope=scope.value)
    return issued
