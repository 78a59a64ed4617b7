"""Per-user code-attempt limits, shared by every worker through the database (DESIGN §8).

One failure counter per user across every code-checking route (TOTP, recovery codes, and — for
the sign-in area — email codes). Wrong, replayed and spent codes all count. After
:data:`MAX_FAILURES` failures inside a sliding :data:`WINDOW`, every attempt — right or wrong —
gets the same 429 ``mfa_rate_limited`` body until :data:`LOCKOUT` has passed; a success resets the
counter; an admin MFA reset clears it.

Use, inside one write transaction per attempt::

    lockout.begin(uow, user_id, now)            # raises MfaRateLimitedError while locked
    ok = <check the code>
    lockout.fail(uow, user_id, CodeRoute.TOTP, now) if not ok else lockout.succeed(uow, user_id)

and commit *before* turning a failure into an error (the failure must persist).
:func:`begin` locks the user's state row, so concurrent attempts of one user are counted exactly.
:class:`CodeAttempts` is that shape for the MFA core's own code routes, with their audit rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from actionmfa.clock import Clock
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import MfaUserState
from actionmfa.errors import ActionMFAError, MfaInvalidCodeError, MfaRateLimitedError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import Caller, SessionService
from actionmfa.services.mfa.ports import LockoutUnit, MfaUnit

MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)
LOCKOUT = timedelta(minutes=15)

T = TypeVar("T")


class CodeRoute(StrEnum):
    """Which route counted a failure (``mfa_failures.route``; also the audit rows' ``action``)."""

    TOTP = "totp"
    TOTP_REGISTER = "totp_register"
    RECOVERY = "recovery"
    EMAIL = "email"


def begin(uow: LockoutUnit, user_id: str, now: datetime) -> MfaUserState:
    """Lock the user's attempt state; refuse while a lockout lasts (same body every time).

    Returns the locked state, which :func:`succeed` uses to skip clearing what is not there."""
    state = uow.mfa.lock_user_state(user_id)
    if state.locked_until is not None and state.locked_until > now:
        raise MfaRateLimitedError()
    return state


def is_locked(uow: LockoutUnit, user_id: str, now: datetime) -> bool:
    state = uow.mfa.state(user_id)
    return bool(state is not None and state.locked_until is not None and state.locked_until > now)


def fail(uow: LockoutUnit, user_id: str, route: CodeRoute, now: datetime) -> bool:
    """Count one failure; true if this failure started a lockout."""
    uow.mfa.add_failure(user_id, route.value, now)
    if uow.mfa.count_failures_since(user_id, now - WINDOW) >= MAX_FAILURES:
        uow.mfa.set_locked_until(user_id, now + LOCKOUT)
        uow.mfa.clear_failures(user_id)
        return True
    return False


def succeed(uow: LockoutUnit, user_id: str, state: MfaUserState | None = None) -> None:
    """A success resets the counter (the state row is held since :func:`begin`).

    With the ``state`` :func:`begin` returned, only what exists is cleared: no statements when
    there are no failures and no (expired) lockout — the common case (issue 15)."""
    if state is None or state.has_failures:
        uow.mfa.clear_failures(user_id)
    if state is None or state.locked_until is not None:
        uow.mfa.clear_held_lockout(user_id)


def clear(uow: LockoutUnit, user_id: str) -> None:
    """Admin reset of the lockout."""
    uow.mfa.clear_failures(user_id)
    uow.mfa.set_locked_until(user_id, None)


@dataclass(frozen=True, slots=True)
class _Failed:
    error: ActionMFAError


@dataclass(frozen=True, slots=True)
class Refused:
    """What a check returns for a code refused with an answer of its own (a TOTP step already
    used): counted and audited like a wrong code, then raised as ``error``."""

    error: MfaInvalidCodeError


class CodeAttempts:
    """One code check of the MFA core under the per-user lockout: lock the user's attempt state,
    refuse while locked out, check the code, and on failure *commit* the counted failure (and its
    audit rows) before raising ``mfa_invalid_code`` — a failure that rolled back would not count."""

    def __init__(self, db: Transactions[MfaUnit], clock: Clock, sessions: SessionService) -> None:
        self.db = db
        self.clock = clock
        self.sessions = sessions

    def attempt(
        self,
        caller: Caller,
        route: CodeRoute,
        check: Callable[[MfaUnit, AuthContext, datetime], T | Refused | None],
        *,
        validate: Callable[[], object] | None = None,
    ) -> T:
        """Run ``check`` (None = wrong code, :class:`Refused` = refused with its own error) in one
        write transaction and return its result.

        The caller's session is loaded first in that transaction (a revoked or expired one is
        refused with 401 before anything is written or counted), then ``validate`` refuses a
        malformed request (before the lockout, as it always was), then the lockout and the check."""
        outcome: T | _Failed
        with self.db.write() as uow:
            ctx = self.sessions.context(uow, caller)
            if validate is not None:
                validate()
            now = self.clock.now()
            try:
                state = begin(uow, ctx.user.id, now)
            except MfaRateLimitedError as err:
                audit.record(uow, ctx, AuditEvent.MFA_RATE_LIMITED, now=now, action=route.value, outcome=err.code)
                outcome = _Failed(err)
            else:
                result = check(uow, ctx, now)
                if result is None or isinstance(result, Refused):
                    error = result.error if isinstance(result, Refused) else MfaInvalidCodeError()
                    locked = fail(uow, ctx.user.id, route, now)
                    audit.record(
                        uow, ctx, AuditEvent.MFA_AUTH_FAILED, now=now, action=route.value, outcome=error.code
                    )
                    if locked:
                        audit.record(
                            uow,
                            ctx,
                            AuditEvent.MFA_LOCKED_OUT,
                            now=now,
                            action=route.value,
                            outcome="locked",
                            minutes=int(LOCKOUT.total_seconds() // 60),
                        )
                    outcome = _Failed(error)
                else:
                    succeed(uow, ctx.user.id, state)
                    outcome = result
        if isinstance(outcome, _Failed):
            raise outcome.error
        return outcome
