"""Baseline: ``GET /api/v0/sdk/{env}/users`` with a valid session.

For each database (SQLite default, PostgreSQL) and each worker count (1, 2) the server runs as a
separate uvicorn process; a load generator in another process (``wrk`` if installed, else an asyncio
httpx client) drives it at 1, 16 and 64 concurrent connections for a bounded time per point, on
loopback only. Prints requests/s and p50/p99 latency as a Markdown table.

    .venv/bin/python -m benchmarks.baseline_bench                 # everything, 5 s per point
    .venv/bin/python -m benchmarks.baseline_bench --db sqlite --workers 1 --seconds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys

from benchmarks.harness import Result, database, load_in_subprocess, server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--workers", type=int, action="append")
    parser.add_argument("--connections", type=int, action="append")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    args = parser.parse_args()
    dbs = args.db or ["sqlite", "postgres"]
    worker_counts = args.workers or [1, 2]
    connections = args.connections or [1, 16, 64]
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if not 1 <= args.seconds <= 60:
        parser.error("--seconds must be 1..60")

    print(f"# GET /users with a valid session — {args.seconds}s per point, load generator: {tool}")
    print(f"# {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs (shared with the client)")
    print()
    print("| database | workers | connections | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for db in dbs:
        with database(db) as url:
            for workers in worker_counts:
                with server(url, workers) as srv:
                    target = f"{srv.base_url}/api/v0/sdk/{srv.environment_id}/users"
                    for conns in connections:
                        r: Result = load_in_subprocess(tool, target, srv.jwt, conns, args.seconds)
                        print(
                            f"| {db} | {workers} | {conns} | {r.requests_per_second:,.0f} | "
                            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |",
                            flush=True,
                        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
