"""Red team: a local process of ANOTHER user must not take ``serve --workers N``'s port.

The supervisor binds the port and the workers listen on it later (uvicorn's ``Config.bind_socket``
for the shared socket; the ``SO_REUSEPORT`` anchor and per-worker sockets of issue 15.1). A socket
that is bound with ``SO_REUSEADDR`` but not listening lets any other socket with ``SO_REUSEADDR``
bind the same address — Linux checks no user id for that — and the first of them to ``listen()``
owns the port: here an unprivileged user's process answered ``/health`` in place of the server
(and, with per-worker sockets, the workers could no longer listen: ``Address already in use``).
So the server's sockets keep ``SO_REUSEADDR`` only for their own ``bind()`` (to step over
TIME_WAIT connections of a previous run) and clear it once bound.

Needs root (to run the attacker as ``nobody`` with ``setpriv``) and a Python ``nobody`` can run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from benchmarks.connection_balance import LISTEN, children, socket_inodes, sockets_on

from tests.ops import served as served_module
from tests.ops.served import start_server, stop, wait_until_up

NOBODY = "65534"
HIJACKER = r"""
import socket, sys, time
port = int(sys.argv[1]); deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:  # wait until the server holds the port
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        break
    finally:
        probe.close()
    time.sleep(0.001)
print("held", flush=True)
while time.time() < deadline:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(64)
    except OSError:
        s.close()
        time.sleep(0.001)
        continue
    print("HIJACKED", flush=True)
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while True:
            c, _ = s.accept()
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
            c.close()
    except OSError:
        pass
    sys.exit(0)
print("refused", flush=True)
"""


def _python_for_nobody() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate):
            ok = subprocess.run(_as_nobody(candidate, "-c", "pass"), capture_output=True, timeout=30)
            if ok.returncode == 0:
                return candidate
    return None


def _as_nobody(*cmd: str) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]


PYTHON = _python_for_nobody()
pytestmark = pytest.mark.skipif(PYTHON is None, reason="needs root, setpriv and a python3 that nobody can run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "module", ["actionmfa.cli", "tests.ops.shared_socket_server"], ids=["socket-per-worker", "shared-socket"]
)
def test_another_user_cannot_take_the_port_while_the_workers_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    assert PYTHON is not None
    port = _free_port()
    monkeypatch.setattr(served_module, "free_port", lambda: port)
    hijacker = subprocess.Popen(_as_nobody(PYTHON, "-c", HIJACKER, str(port), "600"), stdout=subprocess.PIPE, text=True)
    served = None
    try:
        served = start_server(tmp_path / "data", tmp_path / "server.log", args=("--workers", "2"), module=module)
        time.sleep(1.0)  # the workers are up; give the attacker a moment more, then look who answers
        answers = [httpx.get(f"{served.url}/health", timeout=10).text for _ in range(3)]
        # Every worker killed at once: until their replacements listen, only the supervisor holds the port.
        workers = [pid for pid in children(served.proc.pid) if socket_inodes(pid) & sockets_on(port, LISTEN)]
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        wait_until_up(served.url, served.proc)
        time.sleep(1.0)
        answers += [httpx.get(f"{served.url}/health", timeout=10).text for _ in range(3)]
    finally:
        hijacker.kill()  # before the server stops: a port nobody holds any more is anyone's
        out, _ = hijacker.communicate(timeout=30)
        if served is not None:
            stop(served)
    assert out.startswith("held"), out  # the attacker ran, and saw the server hold the port
    assert "HIJACKED" not in out, out
    assert "hijacked" not in answers, "another user's process answers on the server's port"
    per_worker = "one socket per worker" in (tmp_path / "server.log").read_text()
    assert per_worker == (module == "actionmfa.cli")  # each variant ran the path it names
