"""``benchmarks.throughput --profile PATH``: where one path's time goes in a running server (issue 15).

One ``actionmfa serve --workers 1`` on a fresh database (``--db``: SQLite by default, or PostgreSQL),
the path's users / codes / tokens / passkeys prepared first as ``benchmarks.throughput`` prepares
them, then py-spy (a pinned test dependency, ``pyproject.toml``) samples the worker — the threads
holding the GIL, i.e. the Python CPU of the process — while the load generator drives the path at
c=16 (``health``: for ``--profile-seconds``). The output is a flame graph when ``--profile-out``
ends in ``.svg``, else a top table (each function's share of the samples, inclusive and self).
The statements per request of the path (counted in-process on the same database) and the run's
accepted/s and server CPU per request are printed with it.

When py-spy is missing or may not attach to the process (ptrace refused: not root and
``kernel.yama.ptrace_scope`` > 0), the same requests go through the ASGI app in-process under
cProfile instead, and a cProfile top table is written (no HTTP server, no uvicorn in it).
"""

from __future__ import annotations

import collections
import cProfile
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actionmfa.services.runtime import Runtime
from benchmarks import throughput as tp
from benchmarks.harness import database

PATHS = tp.PATHS
RATE = 250  # samples per second


def _py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def _prepare(runtime: Runtime, path: str, n: int) -> tp.Prepared:
    counts = {p: (n + 2 if p == path else 0) for p in PATHS}  # two more: the statement count
    return tp.prepare(runtime, counts["totp"], counts["recovery"], counts["gated"], counts["passkey"])


def top_table(raw: Path, out: Path, title: str, lines: int = 45) -> None:
    """py-spy's collapsed stacks (``-f raw``) as a table: each function's share of the samples
    that include it (inclusive) and that end in it (self); line numbers dropped."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    with out.open("w") as fh:
        fh.write(f"# {title}\n# {total} samples at {RATE}/s of the threads holding the GIL\n\n")
        for name, counter in (("inclusive", inclusive), ("self", own)):
            fh.write(f"## {name}\n")
            for frame, c in counter.most_common(lines):
                fh.write(f"{100 * c / max(1, total):5.1f}%  {frame}\n")
            fh.write("\n")


def _spy(pid: int, out: Path, svg: bool) -> subprocess.Popen[bytes] | None:
    exe = _py_spy()
    if exe is None:
        return None
    target = out if svg else out.with_name(out.name + ".raw")
    proc = subprocess.Popen(
        [exe, "record", "-p", str(pid), "-r", str(RATE), "--gil", "--nonblocking",
         "-f", "flamegraph" if svg else "raw", "-o", str(target)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # attached (or refused) by now
    if proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        print(f"py-spy could not sample the server ({err[-300:] or proc.returncode}): cProfile instead")
        return None
    return proc


def _cprofile(runtime: Runtime, calls: list[tp.Call], out: Path, title: str) -> None:
    from fastapi.testclient import TestClient

    from actionmfa.api.app import create_app

    prof = cProfile.Profile()
    with TestClient(create_app(runtime, migrate=False), raise_server_exceptions=False) as client:
        started = time.perf_counter()
        prof.enable()
        for call in calls:
            client.request(call.method, call.path, headers=call.headers, json=call.body)
        prof.disable()
        wall = time.perf_counter() - started
    text = out if out.suffix != ".svg" else out.with_suffix(".txt")
    with text.open("w") as fh:
        fh.write(f"# cProfile, in-process ASGI app (no HTTP server): {title}; "
                 f"{1000 * wall / max(1, len(calls)):.2f} ms per request under the profiler\n")
        stats = pstats.Stats(prof, stream=fh)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    print(f"cProfile table written to {text}")


def _database(sample: tp.Sample) -> str:
    cpu = sample.db_cpu_ms_per_request
    return "" if cpu is None else f", database CPU {cpu:.2f} ms/request"


def profile(
    path: str, out: Path, kind: str = "sqlite", requests: int = 2000, seconds: float = 5.0, *,
    use_cprofile: bool = False,
) -> None:
    """Profile one path of a 1-worker server under its load (see the module's docstring)."""
    if path not in PATHS:
        raise ValueError(f"--profile takes one of {', '.join(PATHS)}")
    n = 0 if path == "health" else requests
    svg = out.suffix == ".svg"
    title = f"{path}, {kind}, 1 worker, c=16, " + (f"{seconds:g} s" if path == "health" else f"{n} requests")
    data_dir = Path(tempfile.mkdtemp(prefix="amfa-profile-"))
    try:
        with database(kind) as url:
            runtime = tp.migrated_runtime(data_dir, url)
            prep = _prepare(runtime, path, n)
            spare = tp.calls_for(path, prep, n, n + 2) if n else [tp.HEALTH] * 2
            statements = tp.statements_per_request(runtime, {path: spare})[path]
            calls = tp.calls_for(path, prep, 0, n) if n else [tp.HEALTH]
            with tp.serve(data_dir, url, 1) as server:
                tp.measure(server, tp.raw([tp.HEALTH]), 16, 1.0)  # warm-up
                spy = None if use_cprofile else _spy(server.proc.pid, out, svg)
                if spy is not None:
                    sample = tp.measure(server, tp.raw(calls), 16, seconds if path == "health" else None)
                    spy.send_signal(signal.SIGINT)
                    try:
                        spy.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        spy.kill()
                        spy.wait()
            if spy is None:  # the same requests in-process (fresh ones: a code or token is accepted once)
                prep = _prepare(runtime, path, n)
                _cprofile(runtime, tp.calls_for(path, prep, 0, n) if n else [tp.HEALTH] * 2000, out, title)
                print(f"statements per request ({path}): {statements}")
                runtime.db.dispose()
                return
            runtime.db.dispose()
        if not svg:
            raw_file = out.with_name(out.name + ".raw")
            top_table(raw_file, out, title)
            raw_file.unlink(missing_ok=True)
        r = sample.result
        print(f"{title}: {r.accepted_per_second:,.0f} accepted/s ({r.ok}/{r.requests} ok), "
              f"p50 {r.percentile(0.5):.1f} ms, p99 {r.percentile(0.99):.1f} ms, "
              f"server CPU {sample.cpu_ms_per_request:.2f} ms/request{_database(sample)}, "
              f"statements per request {statements}, "
              f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'flame graph' if svg else 'top table'} written to {out}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
