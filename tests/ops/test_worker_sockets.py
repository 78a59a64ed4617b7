"""``actionmfa serve --workers 2`` on Linux: a listening socket per worker (issue 15.1).

With one shared listening socket the worker that woke first accepted whole bursts of connections
(16 keep-alive connections split 16/0 in 12 of 20 rounds), so one worker queued while the other
idled. Each worker now listens on a socket of its own in one ``SO_REUSEPORT`` group. What must hold:
one listening socket per worker and none in the supervisor; both workers get connections; and
when a worker is killed no new connection waits on its socket (the supervisor keeps no copy).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from benchmarks.connection_balance import ESTABLISHED, LISTEN, children, socket_inodes, sockets_on

from tests.ops.served import Served, start_server, stop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing, /proc")

BOUND = 120.0


def _port(served: Served) -> int:
    return int(served.url.rsplit(":", 1)[1])


def _listeners(served: Served) -> dict[int, set[str]]:
    """Each child of the supervisor that listens on the port, with its listening sockets."""
    listening = sockets_on(_port(served), LISTEN)
    held = {pid: socket_inodes(pid) & listening for pid in children(served.proc.pid)}
    return {pid: inodes for pid, inodes in held.items() if inodes}


def _two_workers_listening(served: Served) -> dict[int, set[str]]:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        listeners = _listeners(served)
        if len(listeners) == 2:
            return listeners
        time.sleep(0.2)
    raise TimeoutError(f"two listening workers expected, saw {_listeners(served)}")


def _connections_per_worker(served: Served, workers: list[int], n: int = 16) -> list[int]:
    """Open ``n`` keep-alive connections at once, answer one ``/health`` on each; count per worker."""
    port = _port(served)
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    try:
        for conn in conns:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        for conn in conns:
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        established = sockets_on(port, ESTABLISHED)
        return [len(socket_inodes(pid) & established) for pid in workers]
    finally:
        for conn in conns:
            conn.close()


def test_each_worker_listens_on_a_socket_of_its_own_and_gets_connections(tmp_path: Path) -> None:
    served = start_server(tmp_path / "data", tmp_path / "server.log", args=("--workers", "2"))
    try:
        listeners = _two_workers_listening(served)
        [first, second] = listeners.values()
        assert len(first) == len(second) == 1 and first != second  # not one shared socket
        assert not socket_inodes(served.proc.pid) & sockets_on(_port(served), LISTEN)  # the supervisor listens on none
        workers = list(listeners)
        totals = [0, 0]
        for _ in range(5):
            for i, count in enumerate(_connections_per_worker(served, workers)):
                totals[i] += count
        assert sum(totals) == 80 and min(totals) > 0, totals
    finally:
        stop(served)


def test_no_connection_waits_on_a_killed_workers_socket(tmp_path: Path) -> None:
    served = start_server(tmp_path / "data", tmp_path / "server.log", args=("--workers", "2"))
    try:
        victim, survivor = list(_two_workers_listening(served))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + BOUND
        while Path(f"/proc/{victim}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Before the replacement listens, every new connection is the survivor's: none waits on
        # a socket nobody accepts from (each would hang until the timeout).
        with httpx.Client(base_url=served.url, timeout=20) as client:
            for _ in range(30):
                assert client.get("/health", headers={"Connection": "close"}).status_code == 200
        listeners = _two_workers_listening(served)  # the replacement, on a new socket
        assert survivor in listeners and victim not in listeners
        with httpx.Client(base_url=served.url, timeout=20) as client:
            for _ in range(10):
                assert client.get("/health", headers={"Connection": "close"}).status_code == 200
    finally:
        stop(served)
