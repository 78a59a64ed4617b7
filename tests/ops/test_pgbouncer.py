"""Issue 15.3: N servers share PostgreSQL through pgbouncer in transaction mode.

A pgbouncer of Debian's package (``/usr/sbin/pgbouncer``) on a free port in front of the test
PostgreSQL, ``pool_mode = transaction`` with fewer server connections than concurrent clients, so
consecutive transactions of one server connection run on different PostgreSQL backends. A real
HTTP server (uvicorn, ``create_app``) uses it through ``?prepare_threshold=none`` (pgbouncer 1.18
does not carry psycopg's server-side prepared statements from one transaction to the next;
``store/db.py`` takes the option off the URL for psycopg). What must hold through it: a TOTP
authentication works, and of N concurrent spends of one single-use MFA token exactly one succeeds
(the guarantee is the ``UPDATE … WHERE used_at IS NULL`` row lock inside one transaction, which
transaction pooling keeps on one backend).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.services.runtime import Runtime
from tests.conftest import build_runtime, make_environment, sign_in
from tests.live_server import free_port, serve
from tests.mfa_support import code_now, require_actions

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 3  # pgbouncer's pool per database: fewer than the clients below
N = 20  # concurrent spends of one token


@pytest.fixture
def pgbouncer_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` (a fresh migrated database) reached through a transaction-mode pgbouncer."""
    if not Path(PGBOUNCER).exists():
        pytest.skip("pgbouncer not installed (Debian: apt-get install pgbouncer)")
    target = make_url(postgres_url)
    port = free_port()
    # Not tmp_path: when the tests run as root, pgbouncer refuses to stay root and switches to the
    # postgres user (``user =``), which cannot enter pytest's 0700 base directory.
    work = Path(tempfile.mkdtemp(prefix="actionmfa-pgbouncer-"))
    user = target.username or "postgres"
    (work / "userlist.txt").write_text(f'"{user}" ""\n')
    lines = [
        "[databases]",
        f"{target.database} = host={target.host or '127.0.0.1'} port={target.port or 5432} dbname={target.database}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {work / 'userlist.txt'}",
        "pool_mode = transaction",
        f"default_pool_size = {SERVER_CONNECTIONS}",
        "max_client_conn = 200",
        f"logfile = {work / 'pgbouncer.log'}",
        # psycopg sends none of these; SQLAlchemy's dialect sets nothing at connect either
        "ignore_startup_parameters = extra_float_digits,options",
    ]
    if os.geteuid() == 0:
        lines.append("user = postgres")
        shutil.chown(work, "postgres")
        for f in work.iterdir():
            shutil.chown(f, "postgres")
    (work / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([PGBOUNCER, str(work / "pgbouncer.ini")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                log = (work / "pgbouncer.log").read_text() if (work / "pgbouncer.log").exists() else ""
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"pgbouncer exited with {proc.returncode}: {out[-1000:]} {log[-1000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("pgbouncer did not listen within 20 s")
                time.sleep(0.05)
        via = target.set(host="127.0.0.1", port=port).update_query_dict({"prepare_threshold": "none"})
        yield via.render_as_string(hide_password=False)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def bounced(pgbouncer_url: str, config: ServerConfig, clock: FrozenClock, keyring: Keyring) -> Iterator[Runtime]:
    rt = build_runtime(pgbouncer_url, config, clock, keyring)
    assert rt.db.dialect == "postgresql"
    yield rt
    rt.db.dispose()


def test_totp_and_single_use_token_through_pgbouncer_transaction_mode(bounced: Runtime) -> None:
    runtime = bounced
    clock = runtime.clock
    assert isinstance(clock, FrozenClock)
    env = make_environment(runtime)
    user = sign_in(runtime, env)
    with serve(runtime) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        reg = client.get(env.sdk("/users/mfa/register/totp"), headers=user.headers)
        assert reg.status_code == 200, reg.text
        secret = reg.json()["secret"]
        r = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers,
                        json={"id": reg.json()["id"], "code": code_now(secret, clock)})
        assert r.status_code == 200, r.text
        require_actions(runtime, env, "user.update")
        # more than psycopg's default prepare threshold (5) of the same statements: with
        # server-side prepared statements on, a later transaction on another backend would fail
        for _ in range(7):
            clock.advance(30)
            r = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers,
                            json={"code": code_now(secret, clock), "createMfaToken": {"singleUse": True}})
            assert r.status_code == 200, r.text
        token = r.json()["mfaToken"]
        # the code of this step is spent: the same code again is refused (replay), not a 500
        again = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers,
                            json={"code": code_now(secret, clock)})
        assert again.status_code == 422 and again.json()["code"] == "mfa_code_already_used", again.text

        barrier = threading.Barrier(N)

        def spend(i: int) -> int:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                barrier.wait()
                resp = c.put(env.sdk("/users"), headers={**user.headers, "x-mfa-auth-token": token},
                             json={"alias": f"a{i}"})
            assert resp.status_code in (200, 403), resp.text
            if resp.status_code == 403:
                assert resp.json()["code"] == "mfa_token_invalid", resp.text
            return resp.status_code

        with ThreadPoolExecutor(N) as pool:
            statuses = Counter(pool.map(spend, range(N)))
    assert statuses == Counter({200: 1, 403: N - 1})
