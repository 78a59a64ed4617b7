"""Single use under concurrency, on SQLite and PostgreSQL: threads in one process, and two server
processes sharing one database (DESIGN §6, §8)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig, load_keyring
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.factors import totp
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.concurrency import race
from tests.conftest import EnvFixture, SignedIn, make_environment, sign_in
from tests.live_server import free_port
from tests.mfa_support import require_actions

N = 50


def _ctx(runtime: Runtime, env: EnvFixture, user: SignedIn) -> AuthContext:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env.id, user.jwt)


def _enrol(runtime: Runtime, env: EnvFixture, user: SignedIn) -> tuple[str, list[str]]:
    mfa = runtime.services.mfa
    ctx = _ctx(runtime, env, user)
    reg = mfa.totp.register_totp(ctx)
    mfa.totp.authenticate_totp(ctx, totp.code_at(reg.secret, runtime.clock.now()), device_id=reg.id, mint=MintRequest())
    return reg.secret, mfa.recovery.recovery_codes(_ctx(runtime, env, user))




def test_single_use_token_threads(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    secret, _ = _enrol(runtime_any, env, user)
    require_actions(runtime_any, env, "user.update")
    mfa = runtime_any.services.mfa
    runtime_any.clock.advance(30)  # type: ignore[attr-defined]
    result = mfa.totp.authenticate_totp(
        _ctx(runtime_any, env, user),
        totp.code_at(secret, runtime_any.clock.now()),
        device_id=None,
        mint=MintRequest(create_mfa_token=True, single_use=True),
    )
    token = result.mfa_token
    ctx = _ctx(runtime_any, env, user)
    outcome = race(N, lambda: mfa.profile.update_user(ctx, {"alias": "x"}, Proof(mfa_token=token)))
    assert outcome == Counter({"ok": 1, "mfa_token_invalid": N - 1})


def test_single_use_elevated_token_threads(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    secret, _ = _enrol(runtime_any, env, user)
    require_actions(runtime_any, env, "user.update", tokenBehavior="single_use")
    mfa = runtime_any.services.mfa
    runtime_any.clock.advance(30)  # type: ignore[attr-defined]
    result = mfa.totp.authenticate_totp(
        _ctx(runtime_any, env, user),
        totp.code_at(secret, runtime_any.clock.now()),
        device_id=None,
        mint=MintRequest(requested_scopes=("user:update",)),
    )
    ctx = _ctx(runtime_any, env, user)
    outcome = race(
        N, lambda: mfa.profile.update_user(ctx, {"alias": "x"}, Proof(elevated_token=result.elevated_token))
    )
    assert outcome == Counter({"ok": 1, "mfa_token_invalid": N - 1})


def test_totp_code_and_recovery_code_accepted_once_under_concurrency(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    secret, codes = _enrol(runtime_any, env, user)
    mfa = runtime_any.services.mfa
    ctx = _ctx(runtime_any, env, user)
    runtime_any.clock.advance(30)  # type: ignore[attr-defined]
    code = totp.code_at(secret, runtime_any.clock.now())
    outcome = race(8, lambda: mfa.totp.authenticate_totp(ctx, code, device_id=None, mint=MintRequest()))
    # the losers presented a right code whose step was just accepted: mfa_code_already_used (issue 12)
    refused = outcome["mfa_code_already_used"] + outcome["mfa_invalid_code"] + outcome["mfa_rate_limited"]
    assert outcome["ok"] == 1 and outcome["ok"] + refused == 8
    with runtime_any.db.write() as uow:
        from actionmfa.services.mfa import lockout as ratelimit

        ratelimit.clear(uow, user.user.id)
    outcome = race(8, lambda: mfa.recovery.authenticate_recovery(ctx, codes[0], mint=MintRequest()))
    assert outcome["ok"] == 1 and sum(outcome.values()) == 8


# -- two server processes sharing one database --------------------------------------------------------
def _start_server(data_dir: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(data_dir), "ACTIONMFA_DATABASE_URL": url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "actionmfa.server:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, list[str]]]:
    data = tmp_path / "data"
    config = ServerConfig(data_dir=data, database_url=database_url)
    keyring = load_keyring(config)  # creates keys.json the servers will share
    runtime = Runtime.build(config, clock=SystemClock(), keyring=keyring, db=Database(database_url))
    runtime.db.migrate()
    ports = [free_port(), free_port()]
    procs = [_start_server(data, database_url, p) for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        # A generous start-up bound: on a loaded 2-core machine two cold interpreters importing the
        # server take well over 30 s; a process that exits is reported at once with its stderr.
        deadline = time.monotonic() + 180
        for u, proc in zip(urls, procs, strict=True):
            while True:
                try:
                    if httpx.get(f"{u}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    raise RuntimeError(f"server exited with {proc.returncode} at start-up:\n{err[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("servers did not start within 180 s")
                time.sleep(0.1)
        yield runtime, urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        runtime.db.dispose()


def test_single_use_token_two_server_processes(two_servers: tuple[Runtime, list[str]]) -> None:
    runtime, urls = two_servers
    env = make_environment(runtime)
    user = sign_in(runtime, env)
    _, codes = _enrol(runtime, env, user)
    require_actions(runtime, env, "user.update")
    # mint through one server with a recovery code (no waiting for the next TOTP step)
    r = httpx.post(
        f"{urls[0]}/api/v0/sdk/{env.id}/users/mfa/auth/recovery",
        headers=user.headers,
        json={"code": codes[0], "createMfaToken": {"singleUse": True}},
    )
    assert r.status_code == 200, r.text
    token = r.json()["mfaToken"]
    barrier = threading.Barrier(N)

    def one(i: int) -> int:
        with httpx.Client(base_url=urls[i % 2], timeout=60) as client:
            barrier.wait()
            resp = client.put(
                f"/api/v0/sdk/{env.id}/users",
                headers={**user.headers, "x-mfa-auth-token": token},
                json={"alias": f"a{i}"},
            )
            assert resp.status_code in (200, 403), resp.text
            if resp.status_code == 403:
                assert resp.json()["code"] == "mfa_token_invalid"
            return resp.status_code

    with ThreadPoolExecutor(N) as pool:
        statuses = Counter(pool.map(one, range(N)))
    assert statuses == Counter({200: 1, 403: N - 1})
