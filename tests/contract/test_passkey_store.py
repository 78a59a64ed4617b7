"""Passkey challenges and counters under concurrency, on SQLite and PostgreSQL (DESIGN §8)."""

from __future__ import annotations

from collections import Counter

from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.factors.soft_authenticator import SoftAuthenticator
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store.repos.passkeys import PasskeyRepo
from tests.concurrency import race
from tests.conftest import make_environment, sign_in

ORIGIN = "http://localhost:8080"
N = 12


def _ctx(runtime: Runtime, env_id: str, jwt: str) -> AuthContext:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env_id, jwt)




def test_one_assertion_is_accepted_once_under_concurrency(runtime_any: Runtime) -> None:
    runtime = runtime_any
    env = make_environment(runtime)
    who = sign_in(runtime, env)
    ctx = _ctx(runtime, env.id, who.jwt)
    passkeys = runtime.services.passkeys
    auth = SoftAuthenticator()
    options = passkeys.ceremonies.registration_options(ctx)
    passkeys.registration.register(ctx, auth.create(options, origin=ORIGIN), MintRequest(), Proof())
    ctx = _ctx(runtime, env.id, who.jwt)
    options = passkeys.ceremonies.authentication_options(ctx)
    assertion = auth.get(options, origin=ORIGIN)
    outcome = race(N, lambda: passkeys.authentication.authenticate(ctx, assertion, MintRequest(create_mfa_token=True)))
    assert outcome == Counter({"ok": 1, "passkey_challenge_invalid": N - 1})
    with runtime.db.read() as uow:
        [stored] = PasskeyRepo(uow.conn).for_user(who.user.id)
    assert stored.sign_count == 1


def test_distinct_assertions_each_advance_the_counter_once(runtime_any: Runtime) -> None:
    runtime = runtime_any
    env = make_environment(runtime)
    who = sign_in(runtime, env)
    ctx = _ctx(runtime, env.id, who.jwt)
    passkeys = runtime.services.passkeys
    auth = SoftAuthenticator()
    options = passkeys.ceremonies.registration_options(ctx)
    passkeys.registration.register(ctx, auth.create(options, origin=ORIGIN), MintRequest(), Proof())
    ctx = _ctx(runtime, env.id, who.jwt)
    assertions = []
    for _ in range(4):
        assertions.append(auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN))
    for assertion in assertions:  # in counter order: every one grows the stored counter
        passkeys.authentication.authenticate(ctx, assertion, MintRequest())
    with runtime.db.read() as uow:
        [stored] = PasskeyRepo(uow.conn).for_user(who.user.id)
    assert stored.sign_count == 4 and stored.possibly_cloned_at is None
