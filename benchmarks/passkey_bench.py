"""Passkey MFA authentication throughput and latency, beside TOTP's, over loopback HTTP.

The server runs as ``actionmfa serve`` in its own process (uvicorn, one worker, SQLite unless
``--database-url``); this process plays 16 concurrent SDK connections (one httpx client, one
keep-alive connection and one user each). One *passkey* operation is the whole MFA step as an app
sees it: ``GET …/users/passkeys/authenticate`` (options, challenge stored) → the software
authenticator signs → ``POST …/users/mfa/auth/passkey`` with ``createMfaToken`` (challenge spent,
signature and counter verified, counter stored, session upgraded, token minted, audit rows).
One *TOTP* operation is ``POST …/users/mfa/auth/totp`` with ``createMfaToken``; each TOTP user
authenticates once (a time step is accepted once per device), so TOTP users are many.

Run:  .venv/bin/python benchmarks/passkey_bench.py [--connections 16] [--ops 40] [--algorithm es256|ed25519]
Prints ops/s, p50 and p99. Not a test; numbers depend on the machine (the README reports them).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp

from actionmfa.config import ServerConfig
from actionmfa.factors.soft_authenticator import EDDSA, ES256, SoftAuthenticator
from actionmfa.services.runtime import Runtime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Conn:
    http: httpx.Client
    env_id: str
    jwt: str
    auth: SoftAuthenticator = field(default_factory=SoftAuthenticator)
    totp_users: list[tuple[str, str]] = field(default_factory=list)  # (jwt, secret)

    def sdk(self, path: str) -> str:
        return f"/api/v0/sdk/{self.env_id}{path}"

    def bearer(self, jwt: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {jwt or self.jwt}"}


def _ok(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return r.json() if r.content else None


def passkey_op(c: Conn, origin: str) -> None:
    options = _ok(c.http.get(c.sdk("/users/passkeys/authenticate"), headers=c.bearer()))
    assertion = c.auth.get(options, origin=origin)
    body = {**assertion, "createMfaToken": {"singleUse": True}}
    done = _ok(c.http.post(c.sdk("/users/mfa/auth/passkey"), json=body, headers=c.bearer()))
    assert done["mfaToken"]


def totp_op(c: Conn, jwt: str, secret: str) -> None:
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: never the one enrolment used
    body = {"code": code, "createMfaToken": {"singleUse": True}}
    done = _ok(c.http.post(c.sdk("/users/mfa/auth/totp"), json=body, headers=c.bearer(jwt)))
    assert done["mfaToken"]


def _run(conns: list[Conn], per_conn: int, op: Any) -> tuple[float, list[float]]:
    latencies: list[float] = []

    def worker(i: int) -> list[float]:
        out = []
        for n in range(per_conn):
            t0 = time.perf_counter()
            op(conns[i], n)
            out.append(time.perf_counter() - t0)
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(conns)) as pool:
        for result in pool.map(worker, range(len(conns))):
            latencies.extend(result)
    return time.perf_counter() - t0, latencies


def _report(name: str, wall: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<34} {len(latencies) / wall:8.1f} ops/s   p50 {q[49] * 1000:7.1f} ms   "
        f"p99 {q[98] * 1000:7.1f} ms   ({len(latencies)} ops)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--ops", type=int, default=40, help="operations per connection and method")
    ap.add_argument("--algorithm", choices=["es256", "ed25519"], default="es256")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="amfa-passkey-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    origin = f"http://localhost:{port}"
    env = {
        **os.environ,
        "ACTIONMFA_DATA_DIR": str(data_dir),
        "ACTIONMFA_PORT": str(port),
        "ACTIONMFA_WALLET_POOL_WARM": "false",
    }
    if args.database_url:
        env["ACTIONMFA_DATABASE_URL"] = args.database_url
    server = subprocess.Popen(  # the real operator path
        [str(Path(sys.executable).parent / "actionmfa"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.1)

        # Users and sessions are made through the services on the same store (no sign-in e-mail).
        config = ServerConfig(data_dir=data_dir, database_url=args.database_url)
        runtime = Runtime.build(config)
        settings: dict[str, object] = {
            "security": {"passkeys": {"rpId": "localhost", "rpName": "Bench", "origins": [origin]}}
        }
        with runtime.db.write() as uow:
            environment = runtime.environments.create(uow, name="bench", settings=settings).environment

        def new_session() -> str:
            with runtime.db.write() as uow:
                user = uow.users.add(
                    id=str(uuid.uuid4()),
                    environment_id=environment.id,
                    email=f"{uuid.uuid4().hex[:12]}@bench.example",
                    external_id=None,
                    now=runtime.clock.now(),
                )
                return runtime.sessions.start(uow, environment, user, auth_method="email").jwt

        alg = ES256 if args.algorithm == "es256" else EDDSA
        conns = []
        for _ in range(args.connections):
            c = Conn(http=httpx.Client(base_url=base, timeout=60), env_id=environment.id, jwt=new_session())
            options = _ok(c.http.get(c.sdk("/users/passkeys/register"), headers=c.bearer()))
            _ok(
                c.http.post(
                    c.sdk("/users/passkeys/register"),
                    json=c.auth.create(options, origin=origin, algorithm=alg),
                    headers=c.bearer(),
                )
            )
            for _ in range(args.ops):
                jwt = new_session()
                reg = _ok(c.http.get(c.sdk("/users/mfa/register/totp"), headers=c.bearer(jwt)))
                code = pyotp.TOTP(reg["secret"]).now()
                _ok(
                    c.http.post(
                        c.sdk("/users/mfa/register/totp"), json={"type": "totp", "code": code}, headers=c.bearer(jwt)
                    )
                )
                c.totp_users.append((jwt, reg["secret"]))
            conns.append(c)

        # Warm-up (imports, caches, connection set-up) outside the measurement.
        for c in conns[:2]:
            passkey_op(c, origin)

        print(
            f"{args.connections} concurrent connections, {args.ops} ops each; server: actionmfa serve "
            f"(1 worker, {'PostgreSQL' if args.database_url else 'SQLite'}); cores: {os.cpu_count()}"
        )
        wall, lat = _run(conns, args.ops, lambda c, n: passkey_op(c, origin))
        _report(f"passkey MFA auth ({args.algorithm})", wall, lat)
        wall, lat = _run(conns, args.ops, lambda c, n: totp_op(c, *c.totp_users[n]))
        _report("TOTP MFA auth", wall, lat)
        for c in conns:
            c.http.close()
        runtime.db.dispose()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
