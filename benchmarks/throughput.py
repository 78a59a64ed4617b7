"""Throughput and tail of the MFA hot paths, as ratios to the same server's ``GET /health`` (issue 15).

For each database (SQLite, PostgreSQL) and worker count (1, 2) one ``actionmfa serve --workers N``
process tree runs on a fresh data directory / database. Users, TOTP devices, recovery codes and
single-use MFA tokens are prepared in-process on the same database before the server starts; every
TOTP request uses its own user (a code is accepted once per user and step), every recovery request
its own code. Then, in ``--rounds`` interleaved rounds (health, TOTP, recovery, health, …), the
load generator (:mod:`benchmarks.loadgen`, its own process, raw per-request latencies) drives:

* ``GET /health`` for ``--health-seconds`` (the same-run reference);
* ``POST /users/mfa/auth/totp`` with ``createMfaToken``, ``--requests`` distinct users, c=16;
* ``POST /users/mfa/auth/recovery`` with ``createMfaToken``, ``--requests`` distinct codes, c=16;
* at c=1: ``GET /users``, ``PUT /users`` ungated (an environment that does not require
  ``user.update``) and gated (a fresh single-use ``x-mfa-auth-token`` each time).

Printed per path: accepted/s, p50/p99 (ms, raw), server CPU ms per request (``/proc`` of the server's
process tree), on PostgreSQL the CPU ms per request of the database's own backends (``/proc`` of the
``postgres`` processes whose title names the run's database: server, database and load generator
share the machine's cores, so this says what 2 workers can scale into), the ratio of accepted/s to
``/health``'s, medians over the rounds; the machine's load average at the start and end of each
configuration; the SQL statements of one request of each path, counted on the same database before
the server starts (one spare request of each sent through the ASGI app in-process with
:func:`actionmfa.store.statements.counting`, as
``tests/api/test_statement_counts.py`` counts and asserts them).

``--profile PATH`` (totp, recovery, passkey, health, gated) profiles one path of a 1-worker server
under its load instead: a py-spy flame graph (``--profile-out x.svg``) or top table, or a cProfile
table of the app in-process when py-spy cannot attach (:mod:`benchmarks.profiling`).

    .venv/bin/python -m benchmarks.throughput                                  # all four configurations
    .venv/bin/python -m benchmarks.throughput --db sqlite --workers 2 --rounds 3
    .venv/bin/python -m benchmarks.throughput --profile totp --profile-out /tmp/totp.svg
    .venv/bin/python -m benchmarks.throughput --profile gated --db postgres --profile-out /tmp/gated.txt
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from actionmfa.api.routers.passkeys import PasskeyRegisterRequest
from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig, load_keyring
from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.models import AuthContext, Environment, RequestMeta
from actionmfa.domain.tokens import Proof
from actionmfa.factors import totp
from actionmfa.factors.soft_authenticator import SoftAuthenticator
from actionmfa.services.mfa.codeset import new_recovery_codes
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.mfa.totp import totp_aad
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from actionmfa.store.uow import UnitOfWork
from benchmarks.harness import backend_cpu_seconds, database, free_port, tree_cpu_seconds
from benchmarks.loadgen import LoadResult, build, run_in_subprocess

PATHS = ("totp", "recovery", "passkey", "health", "gated")  # --profile's choices (benchmarks/profiling.py)
PASSKEY_ORIGIN = "http://localhost:8080"  # the default environment settings' allowed origin
GATED: dict[str, object] = {"security": {"mfa": {"actions": [{"action": "user.update", "required": True}]}}}


@dataclass
class Prepared:
    env_gated: str
    env_open: str
    totp: list[tuple[str, str]] = field(default_factory=list)  # (jwt, secret), one per request
    recovery: list[tuple[str, str]] = field(default_factory=list)  # (jwt, code)
    gated: list[tuple[str, str]] = field(default_factory=list)  # (jwt, single-use token)
    passkey: list[tuple[str, dict[str, object]]] = field(default_factory=list)  # (jwt, signed assertion)
    open_jwt: str = ""


def _user(runtime: Runtime, uow: UnitOfWork, env: Environment) -> tuple[AuthContext, str]:
    now = runtime.clock.now()
    user = uow.users.add(
        id=str(uuid.uuid4()), environment_id=env.id, email=f"{uuid.uuid4().hex[:12]}@bench.local",
        external_id=None, now=now,
    )
    issued = runtime.sessions.start(uow, env, user, auth_method="email")
    return AuthContext(environment=env, user=user, session=issued.session, meta=RequestMeta()), issued.jwt


def _totp_device(runtime: Runtime, uow: UnitOfWork, user_id: str) -> str:
    device_id, secret = str(uuid.uuid4()), totp.generate_secret()
    now = runtime.clock.now()
    uow.mfa.add_device(
        id=device_id, user_id=user_id, type=MFADeviceType.TOTP,
        secret_enc=runtime.keyring.encrypt(secret.encode(), aad=totp_aad(device_id)), now=now,
    )
    uow.mfa.mark_verified(device_id, step=0, make_default=True, now=now)
    return secret


def _passkey_users(runtime: Runtime, env: Environment, n: int) -> list[tuple[str, dict[str, object]]]:
    """``n`` users with one passkey each (a software authenticator) and an open authentication
    ceremony each, answered already: request i spends user i's challenge (alive for
    ``CHALLENGE_TTL``, 5 minutes — the rounds must start within that)."""
    passkeys = runtime.services.passkeys
    out: list[tuple[str, dict[str, object]]] = []
    for _ in range(n):
        with runtime.db.write() as uow:
            ctx, jwt = _user(runtime, uow, env)
        auth = SoftAuthenticator()
        created = auth.create(passkeys.ceremonies.registration_options(ctx), origin=PASSKEY_ORIGIN)
        credential = PasskeyRegisterRequest.model_validate(created).credential()
        passkeys.registration.register(ctx, credential, MintRequest(), Proof())
        assertion = auth.get(passkeys.ceremonies.authentication_options(ctx), origin=PASSKEY_ORIGIN)
        out.append((jwt, {**assertion, "createMfaToken": {"singleUse": True}}))
    return out


def migrated_runtime(data_dir: Path, url: str | None) -> Runtime:
    """The benchmark's own runtime on the server's data directory and database, migrated."""
    config = ServerConfig(data_dir=data_dir, database_url=url)
    runtime = Runtime.build(
        config, clock=SystemClock(), keyring=load_keyring(config), db=Database(config.effective_database_url)
    )
    runtime.db.migrate()
    return runtime


def prepare(runtime: Runtime, n_totp: int, n_recovery: int, n_gated: int, n_passkey: int = 0) -> Prepared:
    with runtime.db.write() as uow:
        gated = runtime.environments.create(uow, name="bench-gated", settings=GATED).environment
        open_env = runtime.environments.create(uow, name="bench-open").environment
    prepared = Prepared(gated.id, open_env.id)
    chunk = 500
    for start in range(0, n_totp, chunk):
        with runtime.db.write() as uow:
            for _ in range(min(chunk, n_totp - start)):
                ctx, jwt = _user(runtime, uow, gated)
                prepared.totp.append((jwt, _totp_device(runtime, uow, ctx.user.id)))
    users = max(1, -(-n_recovery // 10))  # ten codes a user
    with runtime.db.write() as uow:
        per_user = []
        for _ in range(users):
            ctx, jwt = _user(runtime, uow, gated)
            _totp_device(runtime, uow, ctx.user.id)
            per_user.append((jwt, new_recovery_codes(uow, runtime.keyring, ctx, runtime.clock.now())))
    # request i: user i % users, that user's code i // users (a user's attempts do not queue back to back)
    prepared.recovery = [(per_user[i % users][0], per_user[i % users][1][i // users]) for i in range(n_recovery)]
    with runtime.db.write() as uow:
        ctx, jwt = _user(runtime, uow, gated)
        _totp_device(runtime, uow, ctx.user.id)
        tokens = runtime.services.core.tokens
        prepared.gated = [
            (jwt, tokens.mint_mfa_token(uow, ctx, single_use=True, via="bench")) for _ in range(n_gated)
        ]
        _, prepared.open_jwt = _user(runtime, uow, open_env)
    prepared.passkey = _passkey_users(runtime, gated, n_passkey)
    return prepared


# --- the server ---------------------------------------------------------------------------------
@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    database: str | None = None  # PostgreSQL: the database's name (its backends' CPU is measured too)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and all its descendants (``/proc``)."""
        return tree_cpu_seconds(self.proc.pid)

    def database_cpu_seconds(self) -> float | None:
        """PostgreSQL: user + system CPU of the database's backends (None: SQLite, in-process)."""
        return backend_cpu_seconds(self.database) if self.database else None


@contextmanager
def serve(data_dir: Path, url: str | None, workers: int) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(data_dir), "ACTIONMFA_WALLET_POOL_WARM": "false"}
    env.pop("ACTIONMFA_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "actionmfa.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--data-dir", str(data_dir)]
    if url:
        cmd += ["--database-url", url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker come up
        yield Server(port, proc, make_url(url).database if url else None)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- measuring ---------------------------------------------------------------------------------
@dataclass
class Sample:
    result: LoadResult
    cpu_ms_per_request: float
    db_cpu_ms_per_request: float | None = None  # PostgreSQL's backends (None: SQLite, in the server)


def measure(server: Server, requests: list[bytes], connections: int, seconds: float | None = None) -> Sample:
    cpu0, db0 = server.cpu_seconds(), server.database_cpu_seconds()
    result = run_in_subprocess("127.0.0.1", server.port, requests, connections, seconds)
    cpu, db1 = server.cpu_seconds() - cpu0, server.database_cpu_seconds()
    n = max(1, result.requests)
    db = None if db0 is None or db1 is None else 1000 * (db1 - db0) / n
    return Sample(result, 1000 * cpu / n, db)


@dataclass(frozen=True)
class Call:
    """One request: sent as bytes by the load generator (:meth:`raw`), or through the ASGI app
    in-process (the statement count, the cProfile fallback of ``--profile``)."""

    method: str
    path: str
    headers: dict[str, str]
    body: object = None

    def raw(self) -> bytes:
        return build(self.method, self.path, self.headers, self.body)


def raw(calls: list[Call]) -> list[bytes]:
    return [c.raw() for c in calls]


HEALTH = Call("GET", "/health", {})


def _totp_calls(env_id: str, users: list[tuple[str, str]]) -> list[Call]:
    now = datetime.now(UTC)
    path = f"/api/v0/sdk/{env_id}/users/mfa/auth/totp"
    return [
        Call("POST", path, {"Authorization": f"Bearer {jwt}"},
             {"code": totp.code_at(secret, now), "createMfaToken": {"singleUse": True}})
        for jwt, secret in users
    ]


def _recovery_calls(env_id: str, codes: list[tuple[str, str]]) -> list[Call]:
    path = f"/api/v0/sdk/{env_id}/users/mfa/auth/recovery"
    return [
        Call("POST", path, {"Authorization": f"Bearer {jwt}"}, {"code": code, "createMfaToken": {"singleUse": True}})
        for jwt, code in codes
    ]


def _passkey_calls(env_id: str, users: list[tuple[str, dict[str, object]]]) -> list[Call]:
    path = f"/api/v0/sdk/{env_id}/users/mfa/auth/passkey"
    return [Call("POST", path, {"Authorization": f"Bearer {jwt}"}, body) for jwt, body in users]


def _gated_calls(env_id: str, tokens: list[tuple[str, str]]) -> list[Call]:
    path = f"/api/v0/sdk/{env_id}/users"
    return [
        Call("PUT", path, {"Authorization": f"Bearer {jwt}", "x-mfa-auth-token": token}, {"alias": "a"})
        for jwt, token in tokens
    ]


def _get_users_call(prep: Prepared) -> Call:
    return Call("GET", f"/api/v0/sdk/{prep.env_gated}/users", {"Authorization": f"Bearer {prep.gated[0][0]}"})


def _open_put_call(prep: Prepared) -> Call:
    return Call("PUT", f"/api/v0/sdk/{prep.env_open}/users", {"Authorization": f"Bearer {prep.open_jwt}"},
                {"alias": "a"})


def calls_for(path: str, prep: Prepared, start: int, stop: int) -> list[Call]:
    """Requests ``start:stop`` of one path (``health``: one request, cycled for a time)."""
    if path == "totp":
        return _totp_calls(prep.env_gated, prep.totp[start:stop])
    if path == "recovery":
        return _recovery_calls(prep.env_gated, prep.recovery[start:stop])
    if path == "passkey":
        return _passkey_calls(prep.env_gated, prep.passkey[start:stop])
    if path == "gated":
        return _gated_calls(prep.env_gated, prep.gated[start:stop])
    if path == "health":
        return [HEALTH]
    raise ValueError(f"unknown path {path!r}")


def statements_per_request(runtime: Runtime, calls: dict[str, list[Call]]) -> dict[str, int]:
    """Each path's calls sent through the ASGI app in-process, on the benchmark's own database, and
    the SQL statements of the last one counted (:func:`actionmfa.store.statements.counting`, as
    ``tests/api/test_statement_counts.py`` counts them: the earlier ones fill this process's caches
    — environment, signing keys — as a running server's are); -1 when an answer was not a 2xx."""
    from fastapi.testclient import TestClient

    from actionmfa.api.app import create_app
    from actionmfa.store.statements import counting

    counts: dict[str, int] = {}
    with TestClient(create_app(runtime, migrate=False), raise_server_exceptions=False) as client:
        for key, sequence in calls.items():
            ok = True
            for call in sequence:
                with counting(runtime.db.engine) as log:
                    answer = client.request(call.method, call.path, headers=call.headers, json=call.body)
                ok = ok and answer.is_success
            counts[key] = log.count if ok else -1
    return counts


@dataclass
class Row:
    path: str
    connections: int
    samples: list[Sample] = field(default_factory=list)
    health: list[float] = field(default_factory=list)  # /health accepted/s of the same round
    statements: int | None = None  # SQL statements per request (counted in-process, same database)

    def median(self, f: object) -> float:
        assert callable(f)
        return float(statistics.median(f(s) for s in self.samples))


def through_pgbouncer(url: str, address: str) -> str:
    """The same database reached through a pgbouncer (transaction mode) at ``host:port``, with
    psycopg's server-side prepared statements off (pgbouncer 1.18 does not carry them)."""
    host, _, port = address.rpartition(":")
    via = make_url(url).set(host=host or "127.0.0.1", port=int(port))
    return via.update_query_dict({"prepare_threshold": "none"}).render_as_string(hide_password=False)


def run_config(
    kind: str, workers: int, rounds: int, n: int, health_seconds: float, c1: int, n_passkey: int,
    pgbouncer: str | None = None,
) -> list[Row]:
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-tp-"))
    labels = {
        "health": ("GET /health", 16), "totp": ("TOTP auth + createMfaToken", 16),
        "recovery": ("recovery-code auth + createMfaToken", 16), "passkey": ("passkey auth + createMfaToken", 16),
        "get": ("GET /users (c=1)", 1), "open": ("PUT /users ungated (c=1)", 1),
        "gated": ("PUT /users gated, single-use token (c=1)", 1),
    }

    rows = {key: Row(*label) for key, label in labels.items()}  # the table's order

    try:
        with database(kind) as url:
            runtime = migrated_runtime(data_dir, url)
            # two more of each for the statement count, sent in-process before the server starts
            last = {"totp": n * rounds, "recovery": n * rounds, "gated": c1 * rounds, "passkey": n_passkey * rounds}
            prep = prepare(runtime, last["totp"] + 2, last["recovery"] + 2, last["gated"] + 2,
                           last["passkey"] + 2 if n_passkey else 0)
            counted = {key: calls_for(key, prep, i, i + 2) for key, i in last.items() if key != "passkey" or n_passkey}
            counted |= {"health": [HEALTH] * 2, "get": [_get_users_call(prep)] * 2, "open": [_open_put_call(prep)] * 2}
            for key, count in statements_per_request(runtime, counted).items():
                rows[key].statements = count
            runtime.db.dispose()
            server_url = through_pgbouncer(url, pgbouncer) if url and pgbouncer else url
            with serve(data_dir, server_url, workers) as server:
                health = raw([HEALTH])
                measure(server, health, 16, 1.0)  # warm-up
                for r in range(rounds):
                    h = measure(server, health, 16, health_seconds)
                    rows["health"].samples.append(h)
                    for key, count in (("totp", n), ("recovery", n), ("passkey", n_passkey)):
                        if count:
                            calls = calls_for(key, prep, r * count, (r + 1) * count)
                            rows[key].samples.append(measure(server, raw(calls), 16))
                    c1_runs = (("get", [_get_users_call(prep).raw()] * c1), ("open", [_open_put_call(prep).raw()] * c1),
                               ("gated", raw(calls_for("gated", prep, r * c1, (r + 1) * c1))))
                    for key, requests in c1_runs:
                        rows[key].samples.append(measure(server, requests, 1))
                    for each in rows.values():
                        if len(each.health) < len(each.samples):
                            each.health.append(h.result.accepted_per_second)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return [r for r in rows.values() if r.samples]


def _mean(s: Sample) -> float:
    return statistics.fmean(s.result.latencies_ms)


def _database_cpu(row: Row) -> str:
    values = [s.db_cpu_ms_per_request for s in row.samples if s.db_cpu_ms_per_request is not None]
    return f"{statistics.median(values):.2f}" if values else "in-process"


def report(kind: str, workers: int, rows: list[Row], load: tuple[str, str]) -> None:
    plural = "s" if workers > 1 else ""
    print(f"\n### {kind}, {workers} worker{plural} — load average at start {load[0]}, end {load[1]}")
    print("\n| path | c | accepted/s | ratio to /health | p50 ms | p99 ms | mean ms | server CPU ms/request "
          "| database CPU ms/request | statements | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ratio = statistics.median(
            s.result.accepted_per_second / h for s, h in zip(row.samples, row.health, strict=True) if h
        )
        errors = sum(s.result.requests - s.result.ok for s in row.samples)
        print(
            f"| {row.path} | {row.connections} | {row.median(lambda s: s.result.accepted_per_second):,.0f} | "
            f"{ratio:.1%} | {row.median(lambda s: s.result.percentile(0.5)):.2f} | "
            f"{row.median(lambda s: s.result.percentile(0.99)):.2f} | {row.median(_mean):.2f} | "
            f"{row.median(lambda s: s.cpu_ms_per_request):.2f} | {_database_cpu(row)} | "
            f"{'' if row.statements is None else row.statements} | {errors} |",
            flush=True,
        )
    by = {r.path: r for r in rows}
    gated, open_, get = (by.get(k) for k in ("PUT /users gated, single-use token (c=1)", "PUT /users ungated (c=1)",
                                             "GET /users (c=1)"))
    if gated and open_ and get:
        g, o, u = (r.median(_mean) for r in (gated, open_, get))
        print(f"\ngate (c=1, median of means): gated − ungated PUT {g - o:+.2f} ms; ", end="")
        print(f"gated PUT − GET /users {g - u:+.2f} ms")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="TOTP / recovery requests per round")
    parser.add_argument("--passkey-requests", type=int, default=200, help="passkey auths per round (0: none)")
    parser.add_argument("--pgbouncer", metavar="HOST:PORT", help="PostgreSQL: the server connects through it")
    parser.add_argument("--health-seconds", type=float, default=2.0)
    parser.add_argument("--c1-requests", type=int, default=300, help="requests per c=1 point")
    parser.add_argument("--profile", metavar="PATH", choices=PATHS,
                        help=f"profile one path ({', '.join(PATHS)}) of a 1-worker server instead"
                        " (benchmarks/profiling.py; --db: its first)")
    parser.add_argument("--profile-out", type=Path,
                        help="a .svg flame graph, else a top table (default PATH-profile.txt)")
    parser.add_argument("--profile-requests", type=int, default=2000, help="requests under the profiler")
    parser.add_argument("--profile-seconds", type=float, default=5.0, help="health: seconds under the profiler")
    parser.add_argument("--cprofile", action="store_true", help="--profile with cProfile in-process instead of py-spy")
    args = parser.parse_args()
    if args.profile:
        from benchmarks.profiling import profile

        profile(args.profile, args.profile_out or Path(f"{args.profile}-profile.txt"), (args.db or ["sqlite"])[0],
                args.profile_requests, args.profile_seconds, use_cprofile=args.cprofile)
        return 0
    print(
        f"# MFA hot paths — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared with the load generator; medians of {args.rounds} interleaved rounds"
    )
    for kind in args.db or ["sqlite", "postgres"]:
        for workers in args.workers or [1, 2]:
            start = _load()
            rows = run_config(
                kind, workers, args.rounds, args.requests, args.health_seconds, args.c1_requests,
                args.passkey_requests, args.pgbouncer,
            )
            report(kind + (f" via pgbouncer {args.pgbouncer}" if args.pgbouncer and kind == "postgres" else ""),
                   workers, rows, (start, _load()))
    print("\nstatements: SQL statements of one request of the path, counted in-process on the same database"
          " (tests/api/test_statement_counts.py asserts them)")
    print(json.dumps({"load_average_end": _load()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
