"""Shared benchmark plumbing: a server in its own process, a signed-in user, and load generators.

Everything runs on loopback. The server is ``actionmfa serve --workers N`` (uvicorn) on a fresh
data directory (SQLite) or a PostgreSQL database created for the run and dropped afterwards. The
user signs in through the real ``externalAuth/signin`` route with a JWT the harness mints (the
environment trusts the harness's public key), so no mail is involved.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PG_ADMIN_URL = os.environ.get("ACTIONMFA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu() -> dict[int, tuple[int, float]]:
    """Every process on this machine: its parent's pid and its user + system CPU seconds (``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and all its descendants."""
    stats = process_cpu()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats[pid][1] if pid in stats else 0.0
        todo += children.get(pid, [])
    return total


def backend_cpu_seconds(database: str) -> float:
    """User + system CPU seconds of the PostgreSQL processes serving ``database`` on this machine:
    its backends and autovacuum workers, whose process titles name it (``postgres: 15/main: user
    database 127.0.0.1(port) idle``). The server-wide ones (WAL writer, checkpointer) are left out:
    other databases share them. A backend that exited in between takes its CPU with it."""
    total = 0.0
    stats = process_cpu()
    for pid, (_, cpu) in stats.items():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and database in title.split():
            total += cpu
    return total


@dataclass(frozen=True)
class Result:
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """``None`` for the SQLite default in the data dir, or a fresh PostgreSQL database URL."""
    if kind == "sqlite":
        yield None
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    name = f"amfa_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    base_url: str
    environment_id: str
    jwt: str


def _cli(data_dir: Path, database_url: str | None, *args: str) -> str:
    cmd = [sys.executable, "-m", "actionmfa.cli", *args, "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@contextmanager
def server(database_url: str | None, workers: int) -> Iterator[Server]:
    """Start the server (separate process), configure an environment and sign one user in."""
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-bench-"))
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    created = json.loads(_cli(data_dir, database_url, "env", "create", "--name", "bench", "--json"))
    env_id = created["environmentId"]
    settings = {
        "security": {
            "externalAuth": {
                "enabled": True,
                "iss": "https://bench.local",
                "aud": "bench",
                "publicKeyPem": pem.decode(),
            }
        }
    }
    _cli(data_dir, database_url, "env", "settings", env_id, "--set", json.dumps(settings), "--json")
    port = free_port()
    env = {
        **os.environ,
        "ACTIONMFA_DATA_DIR": str(data_dir),
        "ACTIONMFA_MAIL_LOG": "true",
        "ACTIONMFA_WALLET_POOL_WARM": "false",
    }  # no prime search competing with the measured requests
    env.pop("ACTIONMFA_DATABASE_URL", None)
    if database_url:
        env["ACTIONMFA_DATABASE_URL"] = database_url
    # The operator's own command (``actionmfa serve``), so the figures are what a deployment gets.
    cmd = [
        sys.executable,
        "-m",
        "actionmfa.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--data-dir",
        str(data_dir),
        "--mail-log",
    ]
    if database_url:
        cmd += ["--database-url", database_url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with status {proc.returncode}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.1)
        now = int(time.time())
        token = jwt.encode(
            {"iss": "https://bench.local", "aud": "bench", "sub": "bench-user", "iat": now, "exp": now + 300},
            key,
            algorithm="ES256",
        )
        r = httpx.post(f"{base_url}/api/v0/sdk/{env_id}/externalAuth/signin", json={"jwt": token}, timeout=10)
        r.raise_for_status()
        yield Server(base_url=base_url, environment_id=env_id, jwt=r.json()["jwt"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- load generators (each runs as its own process) ---------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unparsed wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, jwt_token: str, connections: int, seconds: int) -> Result:
    threads = max(1, min(connections, 2))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {jwt_token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return Result(connections, rps, p50, p99, errors)


async def _httpx_load(url: str, jwt_token: str, connections: int, seconds: int) -> Result:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {jwt_token}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return Result(connections, len(latencies) / elapsed, q[49], q[98], errors)


def run_httpx(url: str, jwt_token: str, connections: int, seconds: int) -> Result:
    return asyncio.run(_httpx_load(url, jwt_token, connections, seconds))


def load_in_subprocess(tool: str, url: str, jwt_token: str, connections: int, seconds: int) -> Result:
    """Run the generator in a separate process so it never shares an interpreter with anything else."""
    if tool == "wrk":
        return run_wrk(url, jwt_token, connections, seconds)  # wrk is its own process already
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.harness", url, str(connections), str(seconds)],
        input=jwt_token,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    doc = json.loads(out)
    return Result(**doc)


def _main() -> None:
    url, connections, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    result = run_httpx(url, sys.stdin.read().strip(), connections, seconds)
    print(json.dumps(result.__dict__))


if __name__ == "__main__":
    _main()
