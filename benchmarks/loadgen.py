"""A small HTTP/1.1 load generator that records every request's own latency (issue 15).

Raw per-request latencies, from the moment the request is written to the moment its last byte is
read — no coordinated-omission "correction" (wrk pads its percentiles for long requests). Requests
are prepared as bytes beforehand (``build``), sent over ``connections`` keep-alive connections by one
asyncio (uvloop) process; each request is used once, in order, unless ``seconds`` is given (then
the list is cycled until the time is up: the ``/health`` reference).

Run as ``python -m benchmarks.loadgen`` with a JSON job on stdin (``run_in_subprocess`` does it) so
the generator never shares an interpreter with the server or the preparation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LoadResult:
    requests: int
    ok: int
    elapsed: float
    latencies_ms: list[float]

    @property
    def accepted_per_second(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(method: str, path: str, headers: dict[str, str], body: Any = None, host: str = "127.0.0.1") -> bytes:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's TCPTransport is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0 or self.waiter is None:
            return
        head = bytes(self.buf[:head_end]).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        if len(self.buf) < head_end + 4 + length:
            return
        status = int(head.split(" ", 2)[1])
        del self.buf[: head_end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(0)

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def _run(host: str, port: int, requests: list[bytes], connections: int, seconds: float | None) -> LoadResult:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    ok = 0
    sent = 0
    next_index = 0
    stop = time.perf_counter() + seconds if seconds else None

    async def worker() -> None:
        nonlocal ok, sent, next_index
        _, conn = await loop.create_connection(_Conn, host, port)
        while True:
            if stop is not None:
                if time.perf_counter() >= stop:
                    break
                request = requests[next_index % len(requests)]
            else:
                if next_index >= len(requests):
                    break
                request = requests[next_index]
            next_index += 1
            t0 = time.perf_counter()
            status = await conn.send(request)
            latencies.append((time.perf_counter() - t0) * 1000)
            sent += 1
            ok += 1 if 200 <= status < 300 else 0
            if status == 0:
                _, conn = await loop.create_connection(_Conn, host, port)
        assert conn.transport is not None
        conn.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return LoadResult(sent, ok, time.perf_counter() - started, latencies)


def run(host: str, port: int, requests: list[bytes], connections: int, seconds: float | None = None) -> LoadResult:
    try:
        import uvloop

        return uvloop.run(_run(host, port, requests, connections, seconds))
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency on Linux
        return asyncio.run(_run(host, port, requests, connections, seconds))


def run_in_subprocess(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float | None = None
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        out = Path(tmp) / "result.json"
        return _run_child(host, port, requests, connections, seconds, out)


def _run_child(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float | None, out: Path
) -> LoadResult:
    job = {
        "out": str(out),
        "host": host,
        "port": port,
        "connections": connections,
        "seconds": seconds,
        "requests": [base64.b64encode(r).decode() for r in requests],
    }
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.loadgen"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{proc.stderr[-2000:]}")
    doc = json.loads(out.read_text())
    return LoadResult(doc["requests"], doc["ok"], doc["elapsed"], doc["latencies_ms"])


def _main() -> None:
    job = json.loads(sys.stdin.read())
    requests = [base64.b64decode(r) for r in job["requests"]]
    result = run(job["host"], job["port"], requests, job["connections"], job["seconds"])
    # The answer (often more than a pipe's 64 KiB) goes to a file the parent named, not to stdout:
    # under load a partial write to the pipe lost the rest of the line even with stdout set blocking
    # again (seen twice: JSONDecodeError at 65537).
    Path(job["out"]).write_text(json.dumps(result.__dict__))


if __name__ == "__main__":
    _main()
