"""Issue 11.2's probes against a real server process started under ``ulimit -n 1024``.

    python benchmarks/connection_probe.py --server plain     # uvicorn's own settings only
    python benchmarks/connection_probe.py --server actionmfa # `actionmfa serve` (bounded protocol)

1. *idle*: 1,124 plain TCP connects that never send a byte; meanwhile ``GET /health`` from another
   client address (127.0.0.2) once a second — does it answer, and how long until the server has
   closed the idle connections?
2. *half header*: 200 connections that send a request line and then one header byte every 2 s.
3. *slow body*: a POST with a 60-byte body sent one byte a second (60 s).
Prints one JSON document of what it saw. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(data_dir), "ACTIONMFA_MAIL_LOG": "true",
           "ACTIONMFA_WALLET_POOL_WARM": "false", "ACTIONMFA_PORT": str(port)}
    if kind == "plain":
        cmd = f"ulimit -n 1024; exec {sys.executable} -m uvicorn --factory actionmfa.server:app_from_env --port {port}"
    else:
        cmd = f"ulimit -n 1024; exec {sys.executable} -m actionmfa.cli serve --port {port}"
    proc = subprocess.Popen(["bash", "-c", cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if health(port) is not None:
            return proc
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


def health(port: int, source: str = "127.0.0.2", timeout: float = 2.0) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            return int(data.split()[1]) if data.startswith(b"HTTP/") else None
    except OSError:
        return None


def still_open(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed (a closed one reads EOF or a refusal)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = {key.fileobj for key, _ in sel.select(timeout=0)}
    sel.close()
    return len(socks) - len(closed)


def probe_idle(port: int, n: int = 1124, watch: float = 20.0) -> dict[str, Any]:
    socks: list[socket.socket] = []
    failed = 0
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            failed += 1
    t0 = time.monotonic()
    timeline = []
    while time.monotonic() - t0 < watch:
        timeline.append({"t": round(time.monotonic() - t0, 1), "health": health(port), "open": still_open(socks)})
        time.sleep(1)
    for s in socks:
        s.close()
    return {"connects": n, "connect_failed": failed, "timeline": timeline}


def probe_half_header(port: int, n: int = 200, watch: float = 20.0) -> dict[str, Any]:
    socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    timeline = []
    while time.monotonic() - t0 < watch:
        for s in socks:
            with contextlib.suppress(OSError):
                s.send(b"X")
        timeline.append({"t": round(time.monotonic() - t0, 1), "open": still_open(socks)})
        time.sleep(2)
    for s in socks:
        s.close()
    return {"connections": n, "timeline": timeline}


def probe_slow_body(port: int, size: int = 60, interval: float = 1.0) -> dict[str, Any]:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = b"{" + b" " * (size - 2) + b"}"
    s.sendall(b"POST /api/v0/sdk/00000000-0000-0000-0000-000000000000/emailVerifications/create HTTP/1.1\r\n"
              b"Host: x\r\nContent-Type: application/json\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n")
    t0 = time.monotonic()
    sent = 0
    for byte in body:
        try:
            s.send(bytes([byte]))
            sent += 1
        except OSError:
            break
        time.sleep(interval)
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK):
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        finally:
            s.setblocking(True)
    s.settimeout(70)
    try:
        answer = s.recv(200).split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as exc:
        answer = f"error {type(exc).__name__}"
    s.close()
    return {"body_bytes": size, "bytes_sent": sent, "seconds": round(time.monotonic() - t0, 1), "answer": answer}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=["plain", "actionmfa"], default="actionmfa")
    ap.add_argument("--watch", type=float, default=20.0)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start(args.server, port, Path(tmp))
        try:
            out = {"server": args.server, "idle": probe_idle(port, watch=args.watch)}
            time.sleep(2)
            out["half_header"] = probe_half_header(port, watch=args.watch)
            time.sleep(2)
            out["slow_body"] = probe_slow_body(port)
            out["health_after"] = health(port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
