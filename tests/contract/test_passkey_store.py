"""Passkey challenges and counters under concurrency, on SQLite and PostgreSQL (DESIGN §8)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.passkeys import PasskeyRepo
from tests.concurrency import race
from tests.contract.passkey_window import ORIGIN
from tests.contract.passkey_window import interleaved as _interleaved
from tests.contract.passkey_window import refusal as _refusal
from tests.contract.passkey_window import registered as _registered

N = 12


def test_one_assertion_is_accepted_once_under_concurrency(runtime_any: Runtime) -> None:
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    options = passkeys.ceremonies.authentication_options(ctx)
    assertion = auth.get(options, origin=ORIGIN)
    outcome = race(N, lambda: passkeys.authentication.authenticate(ctx, assertion, MintRequest(create_mfa_token=True)))
    assert outcome == Counter({"ok": 1, "passkey_challenge_invalid": N - 1})
    with runtime.db.read() as uow:
        [stored] = PasskeyRepo(uow.conn).for_user(user_id)
    assert stored.sign_count == 1


def test_distinct_assertions_each_advance_the_counter_once(runtime_any: Runtime) -> None:
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    assertions = []
    for _ in range(4):
        assertions.append(auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN))
    for assertion in assertions:  # in counter order: every one grows the stored counter
        passkeys.authentication.authenticate(ctx, assertion, MintRequest())
    with runtime.db.read() as uow:
        [stored] = PasskeyRepo(uow.conn).for_user(user_id)
    assert stored.sign_count == 4 and stored.possibly_cloned_at is None


# -- the window between the unlocked verification and the write transaction (issue 15.1) ---------
# Authentication reads the passkey, verifies the signature outside any transaction, then spends the
# challenge and moves the counter in one write transaction. Whatever commits in between must give
# the answer a serial order gives.


def _stored(runtime: Runtime, user_id: str) -> Any:
    with runtime.db.read() as uow:
        [stored] = PasskeyRepo(uow.conn).for_user(user_id)
    return stored


def test_a_higher_counter_committed_meanwhile_marks_the_clone(runtime_any: Runtime) -> None:
    """Assertion 1 verified, assertion 2 (a higher counter) commits before 1's write: 1 did not grow
    the counter past the stored one — possibly cloned, as if 1 had come second."""
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    first, second = (auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN) for _ in range(2))
    late = _interleaved(runtime, lambda: passkeys.authentication.authenticate(ctx, second, MintRequest()))
    assert _refusal(lambda: late.authenticate(ctx, first, MintRequest())) == ("passkey_invalid", "counter")
    stored = _stored(runtime, user_id)
    assert stored.sign_count == 2 and stored.possibly_cloned_at is not None
    with runtime.db.read() as uow:
        flagged = uow.conn.execute(select(audit_log).where(audit_log.c.event == "passkey.possibly_cloned")).all()
    assert len(flagged) == 1
    # the challenge was spent by the refusal
    again = _refusal(lambda: passkeys.authentication.authenticate(ctx, first, MintRequest()))
    assert again[0] == "passkey_challenge_invalid"


def test_a_lower_counter_committed_meanwhile_does_not_refuse(runtime_any: Runtime) -> None:
    """Assertion 2 verified against counter 0, assertion 1 commits counter 1 meanwhile: 2 still grows it."""
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    first, second = (auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN) for _ in range(2))
    late = _interleaved(runtime, lambda: passkeys.authentication.authenticate(ctx, first, MintRequest()))
    late.authenticate(ctx, second, MintRequest(create_mfa_token=True))
    stored = _stored(runtime, user_id)
    assert stored.sign_count == 2 and stored.possibly_cloned_at is None


def test_a_passkey_deleted_meanwhile_is_not_found(runtime_any: Runtime) -> None:
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    assertion = auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN)

    def delete() -> None:
        with runtime.db.write() as uow:
            PasskeyRepo(uow.conn).delete_for_user(user_id)

    late = _interleaved(runtime, delete)
    assert _refusal(lambda: late.authenticate(ctx, assertion, MintRequest()))[0] == "passkey_not_found"
    assert _refusal(lambda: passkeys.authentication.authenticate(ctx, assertion, MintRequest()))[0] == (
        "passkey_challenge_invalid"
    )


def test_a_passkey_flagged_meanwhile_is_refused(runtime_any: Runtime) -> None:
    runtime = runtime_any
    ctx, auth, user_id = _registered(runtime)
    passkeys = runtime.services.passkeys
    assertion = auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN)
    passkey_id = _stored(runtime, user_id).id

    def flag() -> None:
        with runtime.db.write() as uow:
            PasskeyRepo(uow.conn).mark_possibly_cloned(passkey_id, runtime.clock.now())

    late = _interleaved(runtime, flag)
    assert _refusal(lambda: late.authenticate(ctx, assertion, MintRequest())) == ("passkey_invalid", "cloned")
    assert _stored(runtime, user_id).sign_count == 0
