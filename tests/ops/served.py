"""``actionmfa serve`` as a real process for the operations tests: start it on a data dir, wait until
it answers, stop it (SIGTERM, bounded)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.mailsink import free_port

METRICS_TOKEN = "scrape-" + "x" * 24


@dataclass
class Served:
    url: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes]


def wait_until_up(url: str, proc: subprocess.Popen[bytes], path: str = "/health", bound: float = 180) -> None:
    """Poll until the server answers (bounded: worker start-up takes ~50 s on a loaded 2-core box);
    this waits for a process, not for time to pass."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not come up")


def start_server(
    data_dir: Path, log: Path, extra: dict[str, str] | None = None, args: tuple[str, ...] = (),
    module: str = "actionmfa.cli",
) -> Served:
    """``python -m <module> serve`` (``actionmfa serve``, or a launcher of it such as tests/ops/chaos_server.py)."""
    port = free_port()
    env = {
        **os.environ,
        "ACTIONMFA_DATA_DIR": str(data_dir),
        "ACTIONMFA_MAIL_LOG": "false",
        "ACTIONMFA_METRICS_TOKEN": METRICS_TOKEN,
        **(extra or {}),
    }
    for var in ("ACTIONMFA_DATABASE_URL", "ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_HASH_KEY"):
        env.pop(var, None)
    if not (extra or {}).get("PROMETHEUS_MULTIPROC_DIR"):
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", module, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    served = Served(f"http://127.0.0.1:{port}", data_dir, log, proc)
    try:
        wait_until_up(served.url, proc)
    except BaseException:
        stop(served)
        raise
    return served


def stop(served: Served) -> None:
    served.proc.terminate()
    try:
        served.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait(timeout=10)
