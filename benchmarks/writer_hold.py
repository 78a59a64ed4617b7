"""How long each MFA path holds SQLite's writer (issue 15.1): in-process, one request at a time.

    PYTHONPATH=src python -m benchmarks.writer_hold --requests 300 --rounds 3

Each path's requests (benchmarks/throughput.py's prepared users) go through the ASGI app in this
process; every ``Database.write()`` is timed from entry to exit — with one request at a time no
writer waits, so that is the time the writer lock is held (plus a pool check-out, microseconds).
Printed per path: write transactions per request, the hold's mean and p99 (µs), the hold's share
of the request's time, median of ``--rounds``. The writer caps one database file near
1 / (mean hold) requests per second whatever the cores. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import throughput as tp


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paths", default="totp,recovery,passkey")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from actionmfa.api.app import create_app

    paths = args.paths.split(",")
    n = args.requests * args.rounds
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-hold-"))
    try:
        runtime = tp.migrated_runtime(data_dir, None)
        prep = tp.prepare(runtime, n + 20, n + 20, 0, n + 20 if "passkey" in paths else 0)
        db = runtime.db
        real_write = db.write
        holds: list[float] = []

        @contextmanager
        def timed_write() -> Iterator[Any]:
            t0 = time.perf_counter()
            with real_write() as uow:
                yield uow
            holds.append(time.perf_counter() - t0)

        db.write = timed_write  # type: ignore[method-assign]
        results: dict[str, list[tuple[float, float, float, float]]] = {p: [] for p in paths}
        with TestClient(create_app(runtime, migrate=False), raise_server_exceptions=False) as client:
            for path in paths:  # warm-up: caches, compiled statements
                for call in tp.calls_for(path, prep, n, n + 20):
                    client.request(call.method, call.path, headers=call.headers, json=call.body)
            for r in range(args.rounds):
                for path in paths:
                    calls = tp.calls_for(path, prep, r * args.requests, (r + 1) * args.requests)
                    holds.clear()
                    t0 = time.perf_counter()
                    for call in calls:
                        answer = client.request(call.method, call.path, headers=call.headers, json=call.body)
                        if not answer.is_success:
                            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
                    elapsed = time.perf_counter() - t0
                    ordered = sorted(holds)
                    results[path].append((
                        len(holds) / len(calls),
                        1e6 * statistics.fmean(holds),
                        1e6 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
                        sum(holds) / elapsed,
                    ))
        print("| path | writes/request | hold mean µs | hold p99 µs | share of request time |")
        print("|---|---:|---:|---:|---:|")
        for path, rows in results.items():
            med = [statistics.median(col) for col in zip(*rows, strict=True)]
            print(f"| {path} | {med[0]:.2f} | {med[1]:.0f} | {med[2]:.0f} | {100 * med[3]:.0f}% |")
        runtime.db.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
