"""Each worker caches parsed environments and the active signing keys (issue 15); a change made
through one worker must be seen by every other at its next request. Two runtimes on one database
stand for two worker processes (each has its own caches, as each process does)."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import RequestMeta
from actionmfa.domain.policy import is_required_for_action
from actionmfa.services.core.keys import KeyPurpose
from actionmfa.services.runtime import Runtime
from tests.conftest import build_runtime, make_environment, sign_in


@pytest.fixture
def two_workers(
    database_url: str, config: ServerConfig, clock: FrozenClock, keyring: Keyring
) -> Iterator[tuple[Runtime, Runtime]]:
    a = build_runtime(database_url, config, clock, keyring)
    b = build_runtime(database_url, config, clock, keyring)
    yield a, b
    a.db.dispose()
    b.db.dispose()


def _required(runtime: Runtime, env_id: str, token: str) -> bool:
    ctx = runtime.services.core.access.session(env_id, token, RequestMeta())
    return is_required_for_action(ctx.settings.security.mfa, MFAAction.USER_UPDATE, has_verified_method=True)


def test_a_settings_change_through_one_worker_is_seen_by_another(two_workers: tuple[Runtime, Runtime]) -> None:
    a, b = two_workers
    env = make_environment(a)
    user = sign_in(a, env)
    assert _required(b, env.id, user.jwt) is False  # worker b has the environment cached now
    assert _required(b, env.id, user.jwt) is False
    with a.db.write() as uow:
        a.environments.update(
            uow, env.id, name=None,
            settings_patch={"security": {"mfa": {"actions": [{"action": "user.update", "required": True}]}}},
        )
    assert _required(b, env.id, user.jwt) is True


def _reissued_kid(runtime: Runtime, env_id: str, token: str) -> str:
    """What an MFA success does: re-issue the session JWT of the request's context."""
    ctx = runtime.services.core.access.session(env_id, token, RequestMeta())
    with runtime.db.read() as uow:
        issued = runtime.sessions.issue(uow, ctx.environment, ctx.session, ctx.user, env_checked=True)
    return str(jwt.get_unverified_header(issued.jwt)["kid"])


def test_a_key_rotation_through_one_worker_is_used_by_another(two_workers: tuple[Runtime, Runtime]) -> None:
    a, b = two_workers
    env = make_environment(a)
    user = sign_in(a, env)
    old_kid = jwt.get_unverified_header(user.jwt)["kid"]
    assert _reissued_kid(b, env.id, user.jwt) == old_kid  # worker b has the active key cached now
    assert _reissued_kid(b, env.id, user.jwt) == old_kid
    with a.db.write() as uow:
        new_kid = a.keys.rotate(uow, env.id, KeyPurpose.SESSION, a.clock.now())
    assert new_kid != old_kid
    assert _reissued_kid(b, env.id, user.jwt) == new_kid  # the token signed by the retired key still verifies
