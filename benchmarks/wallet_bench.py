"""Embedded-wallet benchmark: key generation and two-party signing over loopback HTTP.

The server (party P1, uvicorn, SQLite) and the SDK (party P2) run in separate processes. Prints:

* Paillier key generation (2048-bit, safe primes p ≡ q ≡ 3 mod 4, plus Πmod) — what the background
  pool hides — and, for comparison, ordinary Blum primes;
* wallet creation as the SDK sees it (pool warm): median and spread;
* signing latency p50/p99 and signatures/s: Paillier randomness computed online, the SDK default
  (a background thread keeps 4 values ready), everything precomputed, and two client threads.

Run:  .venv/bin/python benchmarks/wallet_bench.py [--signatures 200] [--wallets 4] [--keygen-samples 3]
Not a test; numbers depend on the machine (the README reports them).
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
import threading
import time
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- server process -----------------------------------------------------------------------------------


def serve(data_dir: Path, port: int, pool_size: int, fast_keys: bool) -> None:
    import uvicorn

    from actionmfa.api.app import create_app
    from actionmfa.config import ServerConfig
    from actionmfa.services.runtime import Runtime
    from actionmfa.wallet.ecdsa2p import PreparedPaillier

    config = ServerConfig(data_dir=data_dir, port=port, mail_log=True)
    runtime = Runtime.build(config)
    runtime.db.migrate()
    keys = runtime.services.wallets.keys
    keys.size = pool_size
    if fast_keys:
        keys.use(lambda: PreparedPaillier.generate(2048, safe_primes=False))
    with runtime.db.write() as uow:
        created = runtime.environments.create(uow, name="bench", settings=None)
        import uuid

        user = uow.users.add(id=str(uuid.uuid4()), environment_id=created.environment.id,
                             email="bench@example.com", external_id=None, now=runtime.clock.now())
        issued = runtime.sessions.start(uow, created.environment, user, auth_method="email")
    pool = keys.start()
    t0 = time.perf_counter()
    while len(pool) < pool_size:  # warm the Paillier key pool before taking traffic
        time.sleep(0.2)
    warm = time.perf_counter() - t0
    (data_dir / "bench.json").write_text(json.dumps({
        "environmentId": created.environment.id, "jwt": issued.jwt, "userId": user.id, "poolWarmSeconds": warm,
    }))
    app = create_app(runtime, migrate=False)

    @app.get("/bench/pool")
    def pool_state() -> dict[str, int]:  # bench-only: lets the client wait for a refilled pool
        return {"ready": len(pool), "size": pool_size}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- client side ----------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fmt_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"p50 {_pct(ms, 0.5):7.1f} ms  p99 {_pct(ms, 0.99):7.1f} ms  "
            f"min {min(ms):6.1f}  max {max(ms):7.1f}  (n={len(ms)})")


def keygen_figures(samples: int) -> None:
    from actionmfa.wallet.ecdsa2p import PreparedPaillier

    for label, safe, n in (("safe primes (production)", True, samples), ("ordinary Blum primes", False, 10)):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            PreparedPaillier.generate(2048, safe_primes=safe)
            times.append(time.perf_counter() - t)
        print(f"  Paillier 2048 + Πmod, {label:26s}: median {statistics.median(times):6.2f} s  "
              f"min {min(times):6.2f}  max {max(times):6.2f}  (n={n})")


def sign_run(wallet: Any, count: int, threads: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = count // threads

    def work(tid: int) -> None:
        local = []
        for i in range(per_thread):
            t = time.perf_counter()
            wallet.sign_message(f"bench {tid}-{i}")
            local.append(time.perf_counter() - t)
        with lock:
            latencies.extend(local)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return latencies, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signatures", type=int, default=200)
    parser.add_argument("--wallets", type=int, default=4, help="wallets created (= server key pool size)")
    parser.add_argument("--keygen-samples", type=int, default=3, help="safe-prime key generations to time")
    parser.add_argument("--fast-keys", action="store_true", help="server pool uses ordinary Blum primes")
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.wallets, args.fast_keys)
        return

    print(f"wallet benchmark — {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("Paillier key generation (in-process, what the server's background pool absorbs):")
    keygen_figures(args.keygen_samples)

    from actionmfa.sdk.client import Client

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="actionmfa-bench-") as tmp:
        data_dir = Path(tmp) / "server"
        data_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        cmd = [sys.executable, __file__, "--serve", str(data_dir), str(port), "--wallets", str(args.wallets)]
        if args.fast_keys:
            cmd.append("--fast-keys")
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
            import httpx

            while True:
                try:
                    httpx.get(base + "/api/v0/sdk/" + info["environmentId"] + "/settings", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(f"server pool of {args.wallets} keys warmed in {info['poolWarmSeconds']:.1f} s "
                  f"({'ordinary' if args.fast_keys else 'safe'} primes)")
            client = Client(info["environmentId"], base_url=base, timeout=60)
            client.session.jwt = info["jwt"]
            client.session.user = {"id": info["userId"]}
            client.wallets.configure(share_dir=Path(tmp) / "shares")

            created = []
            wallets = []
            for _ in range(args.wallets):
                t = time.perf_counter()
                wallets.append(client.wallets.create())
                created.append(time.perf_counter() - t)
            print(f"wallet creation over HTTP (pool warm, incl. client Πmod check): "
                  f"median {statistics.median(created) * 1000:.0f} ms  min {min(created) * 1000:.0f}  "
                  f"max {max(created) * 1000:.0f}  (n={len(created)})")

            t = time.perf_counter()
            while True:  # measure signing at steady state, not while the pool refills
                state = httpx.get(base + "/bench/pool", timeout=5).json()
                if state["ready"] >= state["size"]:
                    break
                time.sleep(0.5)
            print(f"server pool refilled ({args.wallets} keys, child process) in {time.perf_counter() - t:.1f} s")

            n = args.signatures
            client.wallets.configure(precompute=0)  # wallets[0]: everything computed online
            sign_run(wallets[0], 20, 1)  # warm-up (connections, caches)
            lat, total = sign_run(wallets[0], n, 1)
            print(f"sign, 1 client, r^N computed online        : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            client.wallets.configure(precompute=4)  # wallets[1]: the SDK default (background refill)
            sign_run(wallets[1], 5, 1)
            lat, total = sign_run(wallets[1], n, 1)
            print(f"sign, 1 client, SDK default (bg refill, 4) : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            client.wallets.configure(precompute=0)  # wallets[2]: filled up front, no background thread
            wallet = wallets[min(2, len(wallets) - 1)]
            wallet.precompute(n + 30)
            sign_run(wallet, 20, 1)
            lat, total = sign_run(wallet, n, 1)
            print(f"sign, 1 client, all r^N precomputed        : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            wallet.precompute(n + 10)
            lat, total = sign_run(wallet, n, 2)
            print(f"sign, 2 client threads, r^N precomputed    : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            client.wallets.close()
            client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
