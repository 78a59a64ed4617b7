"""Solana wallet benchmark: FROST creation and signing over loopback HTTP, beside the EVM figures.

The server (uvicorn, SQLite, started by ``wallet_bench.py --serve`` with ordinary-prime Paillier
keys) and the SDK run in separate processes. Each round measures, on the same server:

* Solana wallet creation (FROST KeyGen, two requests) and EVM creation (pool warm);
* Solana signing (two requests: open + complete) p50/p99 and signatures/s, one client;
* EVM signing (three requests, Paillier randomness precomputed) p50/p99 and signatures/s;
* the FROST arithmetic alone, in-process (the user's round and the server's completion with its
  share check and two signature verifications), to separate it from HTTP and the database.

Rounds alternate the two chains so that the load on a shared machine hits both alike; the summary
quotes the median over rounds and the Solana/EVM ratio, with ``uptime``'s load before and after.

Run:  .venv/bin/python benchmarks/solana_bench.py [--rounds 3] [--signatures 100] [--creations 10]
Not a test; numbers depend on the machine (docs/wallet-security.md quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[int], Any], n: int) -> tuple[list[float], float]:
    latencies = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t)
    return latencies, time.perf_counter() - t0


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def frost_only() -> None:
    """One signature's cryptography without HTTP or storage (keys from one in-process KeyGen)."""
    from actionmfa.wallet.frost import ceremony as fc

    user, server = _SHARES or _keygen()
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, b"bench message", opening)
    fc.server_sign_complete(server, state, b"bench message", message)


_SHARES: list[Any] = []


def _keygen() -> list[Any]:
    from actionmfa.wallet.frost import ceremony as fc
    from actionmfa.wallet.frost.transcript import dkg_context

    ctx = dkg_context(environment_id="e", user_id="u", wallet_id="w", ceremony_id="c")
    opening, state = fc.server_keygen_begin(ctx)
    user_state, message = fc.client_keygen_begin(ctx, opening)
    reply, server = fc.server_keygen_finish(state, ctx, message)
    _SHARES.extend([fc.client_keygen_finish(user_state, ctx, reply), server])
    return _SHARES


def wait_for_pool(base: str, httpx: Any) -> None:
    while True:
        state = httpx.get(base + "/bench/pool", timeout=5).json()
        if state["ready"] >= state["size"]:
            return
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signatures", type=int, default=100)
    parser.add_argument("--creations", type=int, default=4, help="per round (a user may hold 20 wallets)")
    args = parser.parse_args()

    import httpx

    from actionmfa.sdk.client import Client
    from actionmfa.sdk.solana_wallets import SolanaWallet

    print(f"solana benchmark — {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"load before: {load()}")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="actionmfa-solbench-") as tmp:
        data_dir = Path(tmp) / "server"
        data_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        cmd = [sys.executable, str(HERE / "wallet_bench.py"), "--serve", str(data_dir), str(port),
               "--wallets", "2", "--fast-keys"]
        server = subprocess.Popen(cmd, env=env)
        try:
            info_path = data_dir / "bench.json"
            deadline = time.time() + 900
            while not info_path.exists():
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            info = json.loads(info_path.read_text())
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    httpx.get(base + "/api/v0/sdk/" + info["environmentId"] + "/settings", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            client = Client(info["environmentId"], base_url=base, timeout=60)
            client.session.jwt = info["jwt"]
            client.session.user = {"id": info["userId"]}
            client.wallets.configure(share_dir=Path(tmp) / "shares", precompute=0)

            rows: dict[str, list[tuple[float, float, float]]] = {}

            def record(label: str, lat: list[float], total: float) -> None:
                ms = [v * 1000 for v in lat]
                rows.setdefault(label, []).append((pct(ms, 0.5), pct(ms, 0.99), len(lat) / total))
                print(f"  {label:34s} p50 {pct(ms, 0.5):7.1f} ms  p99 {pct(ms, 0.99):7.1f} ms  "
                      f"{len(lat) / total:7.1f} /s  (n={len(lat)})")

            evm = client.wallets.create()
            sol = client.wallets.create(chain="SOL")
            assert isinstance(sol, SolanaWallet)
            for i in range(20):  # warm-up: connections, caches
                sol.sign_message(f"warm {i}".encode())
            evm.precompute(args.rounds * (args.signatures + 20) + 20)
            for i in range(5):
                evm.sign_message(f"warm {i}")
            for r in range(args.rounds):
                print(f"round {r + 1}:")
                lat, total = timed(lambda _i: client.wallets.create(chain="SOL"), args.creations)
                record("SOL create (FROST KeyGen)", lat, total)
                wait_for_pool(base, httpx)
                lat, total = timed(lambda _i: client.wallets.create(), 1)
                record("EVM create (pool warm)", lat, total)
                tag = f"bench {r}"

                def sol_sign(i: int, tag: str = tag) -> None:
                    sol.sign_message(f"{tag}-{i}".encode())

                def evm_sign(i: int, tag: str = tag) -> None:
                    evm.sign_message(f"{tag}-{i}")

                lat, total = timed(sol_sign, args.signatures)
                record("SOL sign (2 requests)", lat, total)
                lat, total = timed(evm_sign, args.signatures)
                record("EVM sign (3 requests, r^N precomputed)", lat, total)
                lat, total = timed(lambda _i: frost_only(), args.signatures)
                record("FROST arithmetic only (in-process)", lat, total)
            print(f"load after: {load()}")
            print(f"median over {args.rounds} rounds:")
            for label, values in rows.items():
                p50 = statistics.median(v[0] for v in values)
                p99 = statistics.median(v[1] for v in values)
                rate = statistics.median(v[2] for v in values)
                print(f"  {label:34s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rate:7.1f} /s")
            sol_p50 = statistics.median(v[0] for v in rows["SOL sign (2 requests)"])
            evm_p50 = statistics.median(v[0] for v in rows["EVM sign (3 requests, r^N precomputed)"])
            print(f"  SOL/EVM signing p50 ratio: {sol_p50 / evm_p50:.2f}")
            client.wallets.close()
            client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
