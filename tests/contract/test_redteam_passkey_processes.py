"""Red team: one passkey assertion replayed by two server *processes* at once (issue 15.1 moved its
verification out of any transaction): exactly one completes MFA, on both databases."""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from typing import Any

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from tests.contract.passkey_window import ORIGIN, with_passkey

PROCESSES = 3


def _replay(url: str, config: ServerConfig, now: datetime, keys: tuple[dict[str, bytes], str, bytes], env_id: str,
            jwt: str, assertion: dict[str, Any], barrier: Any, results: Any) -> None:
    from actionmfa.errors import ActionMFAError
    from tests.conftest import build_runtime

    runtime = build_runtime(url, config, FrozenClock(now), Keyring(*keys))  # what the other process has
    try:
        with runtime.db.read() as uow:
            ctx = runtime.sessions.authenticate(uow, env_id, jwt)
        barrier.wait(60)
        try:
            runtime.services.passkeys.authentication.authenticate(ctx, assertion, MintRequest(create_mfa_token=True))
            results.put("ok")
        except ActionMFAError as exc:
            results.put(exc.code)
    finally:
        runtime.db.dispose()


def test_one_assertion_replayed_by_several_processes_passes_once(
    runtime_any: Runtime, config: ServerConfig, clock: FrozenClock, keyring: Keyring
) -> None:
    ctx, auth, jwt = with_passkey(runtime_any)
    assertion = auth.get(runtime_any.services.passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN)
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(PROCESSES), mp.Queue()
    keys = (keyring.keys, keyring.active_key_id, keyring.hash_key)
    args = (runtime_any.db.url, config, clock.now(), keys, ctx.environment.id, jwt, assertion, barrier, results)
    procs = [mp.Process(target=_replay, args=args) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    assert outcomes == ["ok"] + ["passkey_challenge_invalid"] * (PROCESSES - 1), outcomes
    with runtime_any.db.read() as uow:
        [stored] = uow.passkeys.for_user(ctx.user.id)
    assert stored.sign_count == 1
