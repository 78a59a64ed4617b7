"""How ``actionmfa serve --workers N`` spreads keep-alive connections over its workers (issue 15.1).

    PYTHONPATH=src python -m benchmarks.connection_balance --workers 2 --connections 16 --rounds 20

Each round opens ``--connections`` keep-alive connections at once (as benchmarks/loadgen.py does),
sends ``GET /health`` on each, and — while they are open — counts the ESTABLISHED sockets each
worker process holds (``/proc/<pid>/fd`` against ``/proc/net/tcp``). Prints the split of every round
and how often the busiest worker held more than its fair share + 2. Linux only; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.harness import free_port

LISTEN, ESTABLISHED = "0A", "01"


def children(pid: int) -> list[int]:
    """The child processes of ``pid``."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def sockets_on(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets whose local port is ``port``, in ``state`` (``/proc/net/tcp*``)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(fields[9])
    return found


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets ``pid`` holds (none if it is gone)."""
    found: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return found
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


async def open_connections(port: int, n: int) -> list[asyncio.StreamWriter]:
    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        return writer

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def one_round(port: int, n: int, workers: list[int]) -> list[int]:
    writers = await open_connections(port, n)
    try:
        inodes = sockets_on(port, ESTABLISHED)
        return sorted((len(socket_inodes(w) & inodes) for w in workers), reverse=True)
    finally:
        for w in writers:
            w.close()
        await asyncio.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-balance-"))
    env = {**os.environ, "ACTIONMFA_DATA_DIR": str(data_dir), "ACTIONMFA_WALLET_POOL_WARM": "false"}
    env.pop("ACTIONMFA_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "actionmfa.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                workers = children(proc.pid)
                if len(workers) >= args.workers and httpx.get(f"http://127.0.0.1:{port}/health").is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.3)
        time.sleep(2.0)  # every worker listening
        workers = children(proc.pid)  # the workers and multiprocessing's resource tracker (holds none)
        splits = [asyncio.run(one_round(port, args.connections, workers))[: args.workers]
                  for _ in range(args.rounds)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    fair = args.connections / args.workers
    print("splits:", ", ".join("/".join(map(str, s)) for s in splits))
    print("histogram of the busiest worker's share:", dict(sorted(Counter(s[0] for s in splits).items())))
    print(f"rounds with the busiest worker > fair share + 2 ({fair + 2:g}):",
          sum(1 for s in splits if s[0] > fair + 2), "of", len(splits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
