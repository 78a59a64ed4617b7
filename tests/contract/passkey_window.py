"""Helpers for the passkey authentication window tests (issue 15.1): a registered user, and the
authentication run with something committed between its unlocked verification and its write
transaction (tests/contract/test_passkey_store.py, tests/contract/test_redteam_passkey_window.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.errors import ActionMFAError
from actionmfa.factors.soft_authenticator import SoftAuthenticator
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.passkeys.authentication import PasskeyAuthentication
from actionmfa.services.runtime import Runtime
from tests.conftest import make_environment, sign_in

ORIGIN = "http://localhost:8080"


def context_of(runtime: Runtime, env_id: str, jwt: str) -> AuthContext:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env_id, jwt)


def with_passkey(runtime: Runtime) -> tuple[AuthContext, SoftAuthenticator, str]:
    """A signed-in user of a new environment with one passkey: (context, authenticator, session JWT)."""
    env = make_environment(runtime)
    who = sign_in(runtime, env)
    ctx = context_of(runtime, env.id, who.jwt)
    passkeys = runtime.services.passkeys
    auth = SoftAuthenticator()
    options = passkeys.ceremonies.registration_options(ctx)
    passkeys.registration.register(ctx, auth.create(options, origin=ORIGIN), MintRequest(), Proof())
    return context_of(runtime, env.id, who.jwt), auth, who.jwt


def registered(runtime: Runtime) -> tuple[AuthContext, SoftAuthenticator, str]:
    """:func:`with_passkey`: (context, authenticator, user id)."""
    ctx, auth, _ = with_passkey(runtime)
    return ctx, auth, ctx.user.id


class Between:
    """The authentication's database, running ``between`` once just before its write transaction."""

    def __init__(self, db: Any, between: Callable[[], object]) -> None:
        self.db = db
        self.between: Callable[[], object] | None = between

    def read(self) -> AbstractContextManager[Any]:
        return self.db.read()

    @contextmanager
    def write(self) -> Iterator[Any]:
        if self.between is not None:
            run, self.between = self.between, None
            run()
        with self.db.write() as uow:
            yield uow


def interleaved(runtime: Runtime, between: Callable[[], object]) -> PasskeyAuthentication:
    real = runtime.services.passkeys.authentication
    return PasskeyAuthentication(Between(runtime.db, between), real.clock, real.ceremonies, real.completion,
                                 real.sessions)


def refusal(fn: Callable[[], object]) -> tuple[str, object]:
    """The error code and ``reason`` ``fn`` is refused with."""
    with pytest.raises(ActionMFAError) as caught:
        fn()
    return caught.value.code, (caught.value.payload or {}).get("reason")
