"""Issue 11.2: connections that never finish a request are closed; the connection cap refuses clearly.

A real uvicorn server with the bounded protocol (actionmfa.connections) and short deadlines, talked
to over raw sockets; and ``actionmfa serve`` under ``ulimit -n 1024`` against 1,124 idle connects.
Outcomes are asserted (what the server answered, that it closed), never durations.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from actionmfa.api.app import create_app
from actionmfa.connections import BoundedHttpToolsProtocol, ConnectionLimits, attach
from actionmfa.services.runtime import Runtime
from tests.live_server import free_port

LIMITS = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, keep_alive_timeout=1, max_connections=12,
                          max_connections_per_client=4, max_header_bytes=4096)
WAIT = 15.0  # generous bound for "the server closed it" on a loaded machine


@pytest.fixture
def server(runtime: Runtime) -> Iterator[int]:
    port = free_port()
    config = attach(uvicorn.Config(create_app(runtime, migrate=False), host="127.0.0.1", port=port,
                                   log_level="warning"), LIMITS)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(timeout=10)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))
    return s


def read_to_eof(s: socket.socket) -> bytes:
    """Everything the server sends until it closes (a timeout here means it never closed)."""
    chunks = []
    while True:
        data = s.recv(4096)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def status(answer: bytes) -> int:
    return int(answer.split()[1])


def health(port: int, source: str = "127.0.0.1") -> int:
    with connect(port, source) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return status(read_to_eof(s))


def test_a_connection_that_sends_nothing_is_closed_with_408(server: int) -> None:
    with connect(server) as s:
        answer = read_to_eof(s)
    assert status(answer) == 408 and b'"request_timeout"' in answer


def test_half_a_header_is_closed_with_408(server: int) -> None:
    with connect(server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        answer = read_to_eof(s)
    assert status(answer) == 408


def test_a_body_that_trickles_in_is_refused_with_408(server: int) -> None:
    with connect(server) as s:
        s.sendall(b"POST /api/v0/environments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 60\r\n\r\n{")
        answer = read_to_eof(s)
    assert status(answer) == 408 and b"body" in answer


def test_headers_beyond_the_cap_are_431(server: int) -> None:
    with connect(server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192)
        answer = read_to_eof(s)
    assert status(answer) == 431


def test_an_idle_keep_alive_connection_is_closed(server: int) -> None:
    with connect(server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_to_eof(s)  # the response, then the close after the keep-alive timeout
    assert status(answer) == 200 and answer.count(b"HTTP/1.1") == 1


def test_the_per_client_cap_refuses_at_once_and_others_are_served(server: int) -> None:
    held = [connect(server) for _ in range(LIMITS.max_connections_per_client)]
    try:
        time.sleep(0.2)  # let the server register them
        with connect(server) as extra:
            answer = read_to_eof(extra)
        assert status(answer) == 503 and b'"too_many_connections"' in answer and b"retry-after" in answer
        assert health(server, source="127.0.0.2") == 200  # another client address is served
    finally:
        for s in held:
            s.close()


def test_the_worker_cap_refuses_every_client_beyond_it(server: int) -> None:
    held = [connect(server, f"127.0.1.{n}") for n in range(LIMITS.max_connections)]
    try:
        time.sleep(0.2)
        with connect(server, "127.0.2.1") as extra:
            assert status(read_to_eof(extra)) == 503
    finally:
        for s in held:
            s.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit and 127.0.0.2 are Linux")
def test_1124_idle_connects_under_ulimit_1024_do_not_take_health_down(tmp_path: Path) -> None:
    """The issue's probe against ``actionmfa serve`` (default limits) started with ``ulimit -n 1024``:
    /health from another address keeps answering while 1,124 connections sit idle."""
    port = free_port()
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(tmp_path / "data"), "ACTIONMFA_MAIL_LOG": "true",
           "ACTIONMFA_WALLET_POOL_WARM": "false"}
    env.pop("ACTIONMFA_DATABASE_URL", None)
    cmd = f"ulimit -n 1024; exec {sys.executable} -m actionmfa.cli serve --port {port}"
    proc = subprocess.Popen(["bash", "-c", cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "server exited"
            try:
                if health(port, "127.0.0.2") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        for _ in range(1124):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
        answers = [health(port, "127.0.0.2") for _ in range(5)]
        assert answers == [200] * 5
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)


class TimerCountingLoop(asyncio.SelectorEventLoop):
    """An asyncio loop that counts the timers the bounded protocol arms (``call_later`` goes through
    ``call_at``); uvicorn's own keep-alive timer is not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol_timers = 0

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> asyncio.TimerHandle:
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, BoundedHttpToolsProtocol) and callback.__name__ != "timeout_keep_alive_handler":
            self.protocol_timers += 1
        return super().call_at(when, callback, *args, context=context)


@contextmanager
def counting_server(runtime: Runtime, limits: ConnectionLimits) -> Iterator[tuple[int, TimerCountingLoop]]:
    port = free_port()
    config = attach(uvicorn.Config(create_app(runtime, migrate=False), host="127.0.0.1", port=port,
                                   log_level="warning"), limits)
    srv = uvicorn.Server(config)
    loop = TimerCountingLoop()
    thread = threading.Thread(target=loop.run_until_complete, args=(srv.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port, loop
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        loop.close()


def test_one_deadline_timer_per_request(runtime: Runtime) -> None:
    """Issue 11 follow-up: the header and body deadlines share one timer (before: two ``call_later``
    per request, one for the headers and one for the body)."""
    requests = 10
    with counting_server(runtime, LIMITS) as (port, loop), connect(port) as s:
        for _ in range(requests):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                answer += s.recv(4096)
            assert status(answer) == 200
        assert loop.protocol_timers == requests


def test_a_body_slower_than_the_header_deadline_but_within_its_own_is_served(runtime: Runtime) -> None:
    """The shared timer fires at the header deadline, finds the body deadline later and re-arms."""
    limits = ConnectionLimits(header_timeout=0.3, body_timeout=5.0, keep_alive_timeout=1)
    with counting_server(runtime, limits) as (port, _), connect(port) as s:
        s.sendall(b"POST /api/v0/environments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 2\r\nConnection: close\r\n\r\n{")
        time.sleep(1.0)  # past the header deadline, well inside the body deadline
        s.sendall(b"}")
        answer = read_to_eof(s)
    assert status(answer) != 408 and b"request_timeout" not in answer
