"""Per-user code-attempt limits, shared by every worker through the database (DESIGN §8).

One failure counter per user across every code-checking route (TOTP, recovery codes, and — for
the sign-in area — email codes). Wrong, replayed and spent codes all count. After
:data:`MAX_FAILURES` failures inside a sliding :data:`WINDOW`, every attempt — right or wrong —
gets the same 429 ``mfa_rate_limited`` body until :data:`LOCKOUT` has passed; a success resets the
counter; an admin MFA reset clears it.

Use, inside one write transaction per attempt::

    limiter.begin(uow, user_id, now)            # raises MfaRateLimitedError while locked
    ok = <check the code>
    limiter.fail(uow, user_id, "totp", now) if not ok else limiter.succeed(uow, user_id)

and commit *before* turning a failure into an error (the failure must persist).
:func:`begin` locks the user's state row, so concurrent attempts of one user are counted exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from actionmfa.errors import MfaRateLimitedError
from actionmfa.store.repos.mfa import MfaRepo
from actionmfa.store.uow import UnitOfWork

MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)
LOCKOUT = timedelta(minutes=15)


def begin(uow: UnitOfWork, user_id: str, now: datetime) -> None:
    """Lock the user's attempt state; refuse while a lockout lasts (same body every time)."""
    state = MfaRepo(uow.conn).lock_user_state(user_id)
    if state.locked_until is not None and state.locked_until > now:
        raise MfaRateLimitedError()


def is_locked(uow: UnitOfWork, user_id: str, now: datetime) -> bool:
    state = MfaRepo(uow.conn).state(user_id)
    return bool(state is not None and state.locked_until is not None and state.locked_until > now)


def fail(uow: UnitOfWork, user_id: str, route: str, now: datetime) -> bool:
    """Count one failure; true if this failure started a lockout."""
    repo = MfaRepo(uow.conn)
    repo.add_failure(user_id, route, now)
    if repo.count_failures_since(user_id, now - WINDOW) >= MAX_FAILURES:
        repo.set_state(user_id, locked_until=now + LOCKOUT)
        repo.clear_failures(user_id)
        return True
    return False


def succeed(uow: UnitOfWork, user_id: str) -> None:
    """A success resets the counter (the state row is held since :func:`begin`)."""
    repo = MfaRepo(uow.conn)
    repo.clear_failures(user_id)
    repo.update_state(user_id, locked_until=None)


def clear(uow: UnitOfWork, user_id: str) -> None:
    """Admin reset of the lockout."""
    repo = MfaRepo(uow.conn)
    repo.clear_failures(user_id)
    repo.set_state(user_id, locked_until=None)
