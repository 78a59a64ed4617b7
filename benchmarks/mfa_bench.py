"""MFA core benchmark (prints figures; not a test).

Three operations against a real server process (uvicorn, 1 worker) on SQLite and PostgreSQL, at 1,
16 and 64 concurrent connections, from an asyncio httpx client in this process:

* ``GET /users`` — the foundation's baseline (session check only), fixed duration;
* ``POST /users/mfa/auth/totp`` with ``createMfaToken`` — TOTP check (AES-GCM decrypt, HMAC), replay
  write, lockout row, token minting, audit rows, session JWT re-issue (ES256);
* ``PUT /users`` with a fresh single-use ``x-mfa-auth-token`` — the gate (keyed hash, lookup joined
  with the session, conditional spend), audit rows, the profile update.

Users, TOTP devices and single-use tokens are prepared in-process on the same database before the
server starts; every TOTP request uses its own user (a code is accepted once per user and step).
Then a cProfile of the two MFA operations, run in-process on SQLite, shows where the time goes.

    .venv/bin/python -m benchmarks.mfa_bench                       # everything (~2-4 min)
    .venv/bin/python -m benchmarks.mfa_bench --db sqlite --connections 16 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig, load_keyring
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.factors import totp
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from benchmarks.harness import database, free_port


@dataclass
class BenchUser:
    jwt: str
    secret: str
    token: str  # a single-use MFA token for the gated PUT


@dataclass
class Point:
    op: str
    connections: int
    requests: int
    rps: float
    p50: float
    p95: float
    errors: int


def _ctx(runtime: Runtime, env_id: str, jwt: str) -> AuthContext:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env_id, jwt)


def prepare(runtime: Runtime, env_id: str, n: int) -> list[BenchUser]:
    mfa = runtime.services.mfa
    users: list[BenchUser] = []
    for _ in range(n):
        with runtime.db.write() as uow:
            env = runtime.environments.get(uow, env_id)
            user = uow.users.add(
                id=str(uuid.uuid4()),
                environment_id=env_id,
                email=f"{uuid.uuid4().hex[:10]}@bench.local",
                external_id=None,
                now=runtime.clock.now(),
            )
            issued = runtime.sessions.start(uow, env, user, auth_method="email")
        ctx = _ctx(runtime, env_id, issued.jwt)
        reg = mfa.totp.register_totp(ctx)
        # enrol with the previous step's code (accepted, window ±1) so the current step is free
        mfa.totp.authenticate_totp(
            ctx,
            totp.code_at(reg.secret, runtime.clock.now() - timedelta(seconds=30)),
            device_id=reg.id,
            mint=MintRequest(),
        )
        with runtime.db.write() as uow:
            token = runtime.services.core.tokens.mint_mfa_token(uow, ctx, single_use=True, via="bench")
        users.append(BenchUser(issued.jwt, reg.secret, token))
    return users


@contextmanager
def serve(data_dir: Path, url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "ACTIONMFA_DATA_DIR": str(data_dir),
        "ACTIONMFA_DATABASE_URL": url,
        "ACTIONMFA_WALLET_POOL_WARM": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "actionmfa.server:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def _drive(
    base: str, connections: int, jobs: list[tuple[str, str, dict[str, str], Any]], expect: int = 200
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, str, dict[str, str], Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                method, path, headers, body = queue.get_nowait()
                if callable(body):
                    body = body()
                t0 = time.perf_counter()
                r = await client.request(method, path, headers=headers, json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if r.status_code == expect else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def _point(op: str, connections: int, elapsed: float, lat: list[float], errors: int) -> Point:
    q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [lat[0]] * 19
    return Point(op, connections, len(lat), len(lat) / elapsed, statistics.median(lat), q[18], errors)


def run_db(kind: str, connections: list[int], requests: int, baseline_seconds: float) -> list[Point]:
    points: list[Point] = []
    with database(kind) as pg_url:
        data_dir = Path(tempfile.mkdtemp(prefix="amfa-mfa-bench-"))
        url = pg_url or f"sqlite:///{data_dir / 'actionmfa.db'}"
        config = ServerConfig(data_dir=data_dir, database_url=url)
        runtime = Runtime.build(config, clock=SystemClock(), keyring=load_keyring(config), db=Database(url))
        runtime.db.migrate()
        with runtime.db.write() as uow:
            created = runtime.environments.create(
                uow,
                name="bench",
                settings={"security": {"mfa": {"actions": [{"action": "user.update", "required": True}]}}},
            )
        env_id = created.environment.id
        per_level = {c: max(requests, 4 * c) for c in connections}
        users = prepare(runtime, env_id, sum(per_level.values()))
        runtime.db.dispose()
        prefix = f"/api/v0/sdk/{env_id}"
        try:
            with serve(data_dir, url) as base:
                offset = 0
                for c in connections:
                    n = per_level[c]
                    batch = users[offset : offset + n]
                    offset += n
                    # baseline: GET /users for a fixed time
                    auth = {"Authorization": f"Bearer {batch[0].jwt}"}
                    jobs: list[tuple[str, str, dict[str, str], dict[str, str] | None]] = [
                        ("GET", f"{prefix}/users", auth, None)
                    ] * 100_000
                    elapsed, lat, err = asyncio.run(_drive_for(base, c, jobs, baseline_seconds))
                    points.append(_point("GET /users (baseline)", c, elapsed, lat, err))
                    jobs = [
                        (
                            "POST",
                            f"{prefix}/users/mfa/auth/totp",
                            {"Authorization": f"Bearer {u.jwt}"},
                            _code_body(u.secret),
                        )
                        for u in batch
                    ]
                    points.append(_point("TOTP auth + mint", c, *asyncio.run(_drive(base, c, jobs))))
                    jobs = [
                        (
                            "PUT",
                            f"{prefix}/users",
                            {"Authorization": f"Bearer {u.jwt}", "x-mfa-auth-token": u.token},
                            {"alias": "b"},
                        )
                        for u in batch
                    ]
                    points.append(_point("gated PUT /users", c, *asyncio.run(_drive(base, c, jobs))))
                    for p in points[-3:]:
                        print(
                            f"| {kind} | {p.op} | {p.connections} | {p.requests} | {p.rps:,.0f} | {p.p50:.1f} | "
                            f"{p.p95:.1f} | {p.errors} |",
                            flush=True,
                        )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    return points


def _code_body(secret: str) -> Any:
    from datetime import UTC, datetime

    return lambda: {"code": totp.code_at(secret, datetime.now(UTC)), "createMfaToken": {"singleUse": True}}


async def _drive_for(
    base: str, connections: int, jobs: list[tuple[str, str, dict[str, str], Any]], seconds: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    method, path, headers, _ = jobs[0]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.request(method, path, headers=headers)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if r.status_code == 200 else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started, latencies, errors


def profile(iterations: int) -> str:
    """cProfile of TOTP auth + mint and the gated update, in-process on SQLite (no HTTP)."""
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-mfa-prof-"))
    url = f"sqlite:///{data_dir / 'p.db'}"
    config = ServerConfig(data_dir=data_dir, database_url=url)
    runtime = Runtime.build(config, clock=SystemClock(), keyring=load_keyring(config), db=Database(url))
    runtime.db.migrate()
    with runtime.db.write() as uow:
        env_id = runtime.environments.create(
            uow, name="p", settings={"security": {"mfa": {"actions": [{"action": "user.update", "required": True}]}}}
        ).environment.id
    users = prepare(runtime, env_id, iterations)
    mfa = runtime.services.mfa
    ctxs = [_ctx(runtime, env_id, u.jwt) for u in users]
    prof = cProfile.Profile()
    prof.enable()
    for u, ctx in zip(users, ctxs, strict=True):
        res = mfa.totp.authenticate_totp(
            ctx, totp.code_at(u.secret, runtime.clock.now()), device_id=None, mint=MintRequest(create_mfa_token=True)
        )
        mfa.profile.update_user(ctx, {"alias": "p"}, Proof(mfa_token=res.mfa_token))
    prof.disable()
    runtime.db.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    buckets = {
        "sqlite3 driver (commit, close, execute)": 0.0,
        "sqlalchemy (compile, rows)": 0.0,
        "ES256 / JWT": 0.0,
        "AES-GCM, HMAC, pyotp": 0.0,
        "actionmfa code": 0.0,
        "other": 0.0,
    }
    for (filename, _, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "sqlite3" in func or "psycopg" in filename:
            key = "sqlite3 driver (commit, close, execute)"
        elif "sqlalchemy" in filename:
            key = "sqlalchemy (compile, rows)"
        elif "jwt" in filename or "_rust" in func or "ec.py" in filename or "EllipticCurve" in func:
            key = "ES256 / JWT"
        elif "aead" in filename or "hmac" in filename or "pyotp" in filename or "AESGCM" in func:
            key = "AES-GCM, HMAC, pyotp"
        elif "actionmfa" in filename:
            key = "actionmfa code"
        else:
            key = "other"
        buckets[key] += tottime
    stats.sort_stats("tottime").print_stats(12)
    wall = stats.total_tt  # type: ignore[attr-defined]
    lines = [
        f"profile: {iterations} × (TOTP auth + mint, gated PUT) in-process on SQLite, {wall * 1000:.0f} ms "
        f"= {wall * 1000 / iterations:.2f} ms per pair (self time by area):"
    ]
    for name, secs in buckets.items():
        lines.append(f"  {name:<42} {secs * 1000:8.1f} ms ({100 * secs / wall:4.1f} %)")
    return "\n".join(lines) + "\n\n" + out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--connections", type=int, action="append")
    parser.add_argument("--requests", type=int, default=160, help="requests per MFA point (at least 4 × connections)")
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--profile-iterations", type=int, default=200)
    args = parser.parse_args()
    print(
        f"# MFA core benchmark — Python {platform.python_version()}, {os.cpu_count()} CPUs shared with the client;"
        " server: uvicorn, 1 worker"
    )
    print()
    print("| database | operation | connections | requests | requests/s | p50 ms | p95 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind in args.db or ["sqlite", "postgres"]:
        run_db(kind, args.connections or [1, 16, 64], args.requests, args.baseline_seconds)
    if args.profile_iterations:
        print()
        print(profile(args.profile_iterations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
