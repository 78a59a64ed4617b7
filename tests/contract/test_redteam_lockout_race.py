"""Red team (issue 15 review): "a success resets the counter" must hold when the success waited for
a concurrent failure's transaction.

The lockout's one statement (``MfaRepo.lock_user_state``: ``INSERT … ON CONFLICT DO UPDATE …
RETURNING …, EXISTS(SELECT … FROM mfa_failures …)``) locks the user's state row and says whether
failures exist, so that a success clears only what is there. On PostgreSQL (READ COMMITTED) a
statement that waits for another transaction's row lock returns the *latest* state row but
evaluates its sub-queries in the snapshot it took *before* waiting: the failure the other
transaction just committed is not seen, the success skips the DELETE, and the failure outlives the
success — the user is then locked out after four more wrong codes instead of five."""

from __future__ import annotations

import threading
import time

from actionmfa.clock import FrozenClock
from actionmfa.errors import ActionMFAError
from actionmfa.factors import totp
from actionmfa.services.mfa import lockout
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from tests.conftest import make_environment, sign_in


def _failures(runtime: Runtime, user_id: str) -> int:
    with runtime.db.read() as uow:
        rows = uow.conn.execute(m.mfa_failures.select().where(m.mfa_failures.c.user_id == user_id)).all()
        return len(rows)


def test_a_success_that_waited_for_a_failure_still_resets_the_counter(runtime_any: Runtime, clock: FrozenClock) -> None:
    runtime, mfa = runtime_any, runtime_any.services.mfa
    user = sign_in(runtime, env := make_environment(runtime))
    with runtime.db.read() as uow:
        ctx = runtime.sessions.authenticate(uow, env.id, user.jwt)
    reg = mfa.totp.register_totp(ctx)
    mfa.totp.authenticate_totp(ctx, totp.code_at(reg.secret, clock.now()), device_id=reg.id, mint=MintRequest())
    clock.advance(30)
    right = totp.code_at(reg.secret, clock.now())

    failure_counted = threading.Event()
    outcome: list[str] = []

    def failing_attempt() -> None:
        # A wrong code's transaction: the state row locked, the failure counted, the commit late.
        with runtime.db.write() as uow:
            lockout.begin(uow, user.user.id, clock.now())
            lockout.fail(uow, user.user.id, lockout.CodeRoute.TOTP, clock.now())
            failure_counted.set()
            time.sleep(0.5)  # the success below is waiting for this row lock meanwhile

    def succeeding_attempt() -> None:
        failure_counted.wait(10)
        try:
            mfa.totp.authenticate_totp(ctx, right, device_id=None, mint=MintRequest())
            outcome.append("ok")
        except ActionMFAError as err:
            outcome.append(err.code)

    threads = [threading.Thread(target=failing_attempt), threading.Thread(target=succeeding_attempt)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome == ["ok"]
    assert _failures(runtime, user.user.id) == 0, "the success did not reset the failure counter"

    # What the user sees: four wrong codes after a success do not lock them out.
    for _ in range(4):
        clock.advance(30)
        try:
            mfa.totp.authenticate_totp(ctx, "000000", device_id=None, mint=MintRequest())
        except ActionMFAError as err:
            assert err.code == "mfa_invalid_code"
    clock.advance(30)
    mfa.totp.authenticate_totp(ctx, totp.code_at(reg.secret, clock.now()), device_id=None, mint=MintRequest())
