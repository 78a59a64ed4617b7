"""Issue 11.4: the key pool's child processes die with their parent, whatever kills it.

Real ``actionmfa serve`` processes (1 and 2 workers) with the real key pool warm (its child starts
a 2048-bit prime search at once). Before: a killed worker's key-pool child was reparented to PID 1
and lived on, and a plain SIGTERM of a 1-worker server left the child and multiprocessing's
resource tracker alive. The waits below are bounds for an event, not timings under test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live_server import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
BOUND = 60.0
START_BOUND = 240.0


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> dict[int, str]:
    parents = {int(p.name): _ppid(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = _cmdline(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate: object, what: str, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def start(tmp_path: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(tmp_path / "data"), "ACTIONMFA_MAIL_LOG": "true",
           "ACTIONMFA_WALLET_POOL_WARM": "true", "ACTIONMFA_GRACEFUL_SHUTDOWN_TIMEOUT": "5"}
    env.pop("ACTIONMFA_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "actionmfa.cli", "serve", "--port", str(free_port()), "--workers", str(workers)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def key_children(root: int) -> dict[int, str]:
    return {pid: cmd for pid, cmd in descendants(root).items() if "actionmfa.wallet.keychild" in cmd}


@pytest.mark.parametrize(
    ("workers", "sig", "target"),
    [
        (1, signal.SIGTERM, "master"),
        (1, signal.SIGINT, "master"),
        (1, signal.SIGKILL, "master"),
        (2, signal.SIGTERM, "master"),
        (2, signal.SIGKILL, "master"),
        (2, signal.SIGKILL, "worker"),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_key_pool_children_die_with_their_parent(
    tmp_path: Path, workers: int, sig: signal.Signals, target: str
) -> None:
    proc = start(tmp_path, workers)
    try:
        wait_for(lambda: len(key_children(proc.pid)) == workers, "every worker's key-pool child started", START_BOUND)
        tree = descendants(proc.pid)
        if workers == 1:  # the key pool starts no multiprocessing helpers (uvicorn's --workers N does)
            assert not [c for c in tree.values() if "resource_tracker" in c]
        if target == "master":
            doomed = set(tree)
            os.kill(proc.pid, sig)
            proc.wait(timeout=BOUND)
        else:
            worker = next(pid for pid, cmd in tree.items() if _ppid(pid) == proc.pid and "keychild" not in cmd)
            doomed = {worker} | {pid for pid in key_children(proc.pid) if _ppid(pid) == worker}
            os.kill(worker, sig)
        wait_for(lambda: not [pid for pid in doomed if alive(pid)], f"{sorted(doomed)} all exited")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=BOUND)


LATE_WORKER = """
import multiprocessing, os, signal, sys, time
from pathlib import Path


def late_worker(out: str) -> None:
    parent = multiprocessing.parent_process().pid
    Path(out, "pid").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while os.getppid() == parent and time.monotonic() < deadline:  # still importing when the master dies
        time.sleep(0.05)
    from actionmfa.server import app_from_env
    app_from_env()
    Path(out, "survived").write_text("serving, orphaned")


if __name__ == "__main__":
    os.environ["ACTIONMFA_SUPERVISOR_PID"] = str(os.getpid())  # what run_workers sets
    multiprocessing.get_context("spawn").Process(target=late_worker, args=(sys.argv[1],)).start()
    while not Path(sys.argv[1], "pid").exists():
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_still_starting_when_the_supervisor_is_killed_exits(tmp_path: Path) -> None:
    """Found by tests/ops/test_kill_under_load.py: uvicorn replaced a killed worker, the master was
    SIGKILLed while the replacement was still importing the app, and the replacement — already
    reparented, so ``getppid()`` no longer named the supervisor — lived on, serving the socket."""
    script = tmp_path / "supervisor.py"
    script.write_text(LATE_WORKER)
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(tmp_path / "data"), "ACTIONMFA_WALLET_POOL_WARM": "false"}
    env.pop("ACTIONMFA_DATABASE_URL", None)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, timeout=BOUND, check=False)
    assert done.returncode == -signal.SIGKILL
    worker = int((tmp_path / "pid").read_text())
    wait_for(lambda: not alive(worker), "the orphaned worker exited", START_BOUND)
    assert not (tmp_path / "survived").exists()
