"""Embedded-wallet benchmark, every proof on: key generation, creation, signing, refresh.

The server (party P1, uvicorn, SQLite) and the SDK (party P2) run in separate processes. Prints:

* the cost of each proof (in-process, 2048-bit keys): prove and verify of Πmod, Πprm, Πfac, Πlog*,
  Πaff-g (plain and with the server's CRT), the client's ring-Pedersen set-up;
* Paillier key generation (2048-bit, safe primes p ≡ q ≡ 3 mod 4, with ring-Pedersen parameters,
  Πmod and Πprm) — what the background pool hides — and, for comparison, ordinary Blum primes;
* wallet creation as the SDK sees it (pool warm, the client's ring made beforehand): p50 and spread;
* signing latency p50/p99 and signatures/s: precomputation online, the SDK default (a background
  thread keeps 4 ready), everything precomputed, and two client threads;
* refresh p50 (pool warm; each refresh takes a new pooled key);
* with ``--profile``: cProfile of the client side of the precomputed signatures (top functions).

Run:  .venv/bin/python benchmarks/wallet_bench.py [--signatures 200] [--wallets 4] [--refreshes 3]
      [--keygen-samples 3] [--fast-keys] [--profile]
Not a test; numbers depend on the machine (docs/wallet-security.md §8 reports them).
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
        keys.use(lambda: PreparedPaillier.generate(2048, safe_primes=False), size=pool_size)
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

    for label, safe, n in (("safe primes (production)", True, samples), ("ordinary Blum primes", False, 5)):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            PreparedPaillier.generate(2048, safe_primes=safe)
            times.append(time.perf_counter() - t)
        print(f"  Paillier 2048 + ring + Πmod + Πprm, {label:26s}: median {statistics.median(times):6.2f} s  "
              f"min {min(times):6.2f}  max {max(times):6.2f}  (n={n})")


def reference_ms() -> float:
    """Same-run reference for a loaded machine: one Paillier encryption's exponentiation
    (``r^N mod N²``, 2048-bit N), median of 15, in ms. Figures divided by it compare across loads."""
    import secrets

    import gmpy2

    from actionmfa.wallet.paillier import generate_blum_prime

    n = generate_blum_prime(1024) * generate_blum_prime(1024)
    n2 = n * n
    times = []
    for _ in range(15):
        r = gmpy2.mpz(secrets.randbelow(int(n)))
        t = time.perf_counter()
        gmpy2.powmod(r, n, n2)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def proof_costs(rounds: int) -> None:
    """Median prove / verify time of each proof, 2048-bit keys, in this process."""
    import gmpy2

    from actionmfa.wallet.curve import base_mul, point_mul, random_scalar
    from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier
    from actionmfa.wallet.paillier import generate_paillier_key
    from actionmfa.wallet.transcript import Role, Transcript, session_id
    from actionmfa.wallet.zk.piaffg import AffgMask, AffgProof
    from actionmfa.wallet.zk.pifac import FacProof
    from actionmfa.wallet.zk.pilog import LogProof
    from actionmfa.wallet.zk.pimod import ModProof
    from actionmfa.wallet.zk.ring import PrmProof

    def timed(fn: Any) -> tuple[float, Any]:
        times, out = [], None
        for _ in range(rounds):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times), out

    prepared = PreparedPaillier.from_key(generate_paillier_key(2048))
    key, pk = prepared.key, prepared.key.public
    sid = session_id("bench", wallet_id="w", ceremony_id="c", key_version=1)

    def fs(tag: bytes, role: Role = Role.SERVER) -> Transcript:
        return Transcript(tag, sid, role)

    t_ring, (client, _secret) = timed(ClientRing.create)
    rows: list[tuple[str, float, float]] = []
    t_p, mod = timed(lambda: ModProof.prove(key, fs(b"m")))
    t_v, _ = timed(lambda: mod.verify(key.n, fs(b"m")))
    rows.append(("Πmod (128 rounds, key pool)", t_p, t_v))
    t_p, prm = timed(lambda: PrmProof.prove(prepared.ring, fs(b"p")))
    t_v, _ = timed(lambda: prm.verify(prepared.ring.public, fs(b"p")))
    rows.append(("Πprm (128 rounds, key pool / client once)", t_p, t_v))
    ring = client.params
    t_p, fac = timed(lambda: FacProof.prove(key, ring, fs(b"f")))
    t_v, _ = timed(lambda: fac.verify(key.n, ring, fs(b"f")))
    rows.append(("Πfac (per key ceremony)", t_p, t_v))
    x1 = random_scalar()
    rho = int(pk.random_unit())
    ckey = int((1 + x1 * pk.n) * gmpy2.powmod(rho, pk.n, pk.n_squared) % pk.n_squared)
    q1, g = base_mul(x1), base_mul(1)
    t_p, log = timed(lambda: LogProof.prove(pk, ring, fs(b"l"), c=ckey, x_point=q1, g=g, x=x1, rho=rho))
    t_v, _ = timed(lambda: log.verify(pk, ring, fs(b"l"), c=ckey, x_point=q1, g=g))
    rows.append(("Πlog* (ckey, per key ceremony)", t_p, t_v))
    k2, b, y = random_scalar(), random_scalar(), random_scalar() << 900
    pair = pk.randomness_pair()
    d = int(gmpy2.powmod(ckey, b, pk.n_squared) * (1 + y * pk.n) * pair[1] % pk.n_squared)
    r2 = base_mul(k2)
    x_pt, y_pt = point_mul(r2, b), point_mul(r2, y)
    srv = prepared.ring.public
    t_m, _ = timed(lambda: AffgMask.make(pk, srv, ckey))
    masks = [AffgMask.make(pk, srv, ckey) for _ in range(rounds)]
    t_p, affg = timed(lambda: AffgProof.prove(pk, srv, fs(b"a", Role.CLIENT), c=ckey, d=d, base=r2, x_pt=x_pt,
                                              y_pt=y_pt, x=b, y=y, rho=pair[0], mask=masks.pop()))
    t_v, _ = timed(lambda: affg.verify(pk, srv, fs(b"a", Role.CLIENT), c=ckey, d=d, base=r2, x_pt=x_pt, y_pt=y_pt))
    t_c, _ = timed(lambda: affg.verify(pk, srv, fs(b"a", Role.CLIENT), c=ckey, d=d, base=r2, x_pt=x_pt, y_pt=y_pt,
                                       factors=(key.p, key.q)))
    print(f"  client ring-Pedersen set-up (primes + Πprm, once per SDK process): {t_ring * 1000:8.1f} ms")
    print(f"  {'proof':44s} {'prove':>10s} {'verify':>10s}")
    for name, p, v in rows:
        print(f"  {name:44s} {p * 1000:8.1f} ms {v * 1000:8.1f} ms")
    print(f"  {'Πaff-g (c3, per signature)':44s} {t_p * 1000:8.1f} ms {t_v * 1000:8.1f} ms   "
          f"(+ {t_m * 1000:.1f} ms precomputable mask; server CRT verify {t_c * 1000:.1f} ms)")


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
    parser.add_argument("--refreshes", type=int, default=3, help="refreshes to time (each takes a pooled key)")
    parser.add_argument("--proof-rounds", type=int, default=3, help="repetitions per proof cost")
    parser.add_argument("--profile", action="store_true", help="cProfile the client side of signing")
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.wallets, args.fast_keys)
        return

    print(f"wallet benchmark — {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    ref = reference_ms()
    print(f"same-run reference: one r^N mod N² (2048-bit) = {ref:.2f} ms")
    print("Cost of each proof (in-process, 2048-bit):")
    proof_costs(args.proof_rounds)
    print("Paillier key generation (in-process, what the server's background pool absorbs):")
    keygen_figures(args.keygen_samples)

    from actionmfa.sdk.client import Client

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="actionmfa-bench-") as tmp:
        data_dir = Path(tmp) / "server"
        data_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        pool_size = args.wallets + args.refreshes
        cmd = [sys.executable, __file__, "--serve", str(data_dir), str(port), "--wallets", str(pool_size)]
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
            print(f"server pool of {pool_size} keys warmed in {info['poolWarmSeconds']:.1f} s "
                  f"({'ordinary' if args.fast_keys else 'safe'} primes)")
            client = Client(info["environmentId"], base_url=base, timeout=60)
            client.session.jwt = info["jwt"]
            client.session.user = {"id": info["userId"]}
            client.wallets.configure(share_dir=Path(tmp) / "shares")
            t = time.perf_counter()
            client.wallets.ring()  # once per SDK process (ring-Pedersen primes + Πprm)
            print(f"client ring-Pedersen parameters made in {(time.perf_counter() - t) * 1000:.0f} ms (once)")

            created = []
            wallets = []
            for _ in range(args.wallets):
                t = time.perf_counter()
                wallets.append(client.wallets.create())
                created.append(time.perf_counter() - t)
            print(f"wallet creation over HTTP (pool warm, every proof checked; the first includes the server's "
                  f"Πprm check of the client ring): p50 {statistics.median(created) * 1000:.0f} ms  "
                  f"min {min(created) * 1000:.0f}  max {max(created) * 1000:.0f}  (n={len(created)})")

            t = time.perf_counter()
            while True:  # measure signing at steady state, not while the pool refills
                state = httpx.get(base + "/bench/pool", timeout=5).json()
                if state["ready"] >= state["size"]:
                    break
                time.sleep(0.5)
            print(f"server pool refilled ({pool_size} keys, child process) in {time.perf_counter() - t:.1f} s")

            n = args.signatures
            refreshed = []
            for i in range(args.refreshes):
                w = wallets[(i + 1) % len(wallets)]
                t = time.perf_counter()
                w.refresh()
                refreshed.append(time.perf_counter() - t)
            if refreshed:
                print(f"refresh over HTTP (pool warm, every proof checked): p50 "
                      f"{statistics.median(refreshed) * 1000:.0f} ms  min {min(refreshed) * 1000:.0f}  "
                      f"max {max(refreshed) * 1000:.0f}  (n={len(refreshed)})")

            client.wallets.configure(precompute=0)  # wallets[0]: everything computed online
            sign_run(wallets[0], 20, 1)  # warm-up (connections, caches)
            lat, total = sign_run(wallets[0], n, 1)
            print(f"sign, 1 client, precomputation online      : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            client.wallets.configure(precompute=4)  # wallets[1]: the SDK default (background refill)
            sign_run(wallets[1], 5, 1)
            lat, total = sign_run(wallets[1], n, 1)
            print(f"sign, 1 client, SDK default (bg refill, 4) : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            client.wallets.configure(precompute=0)  # wallets[2]: filled up front, no background thread
            wallet = wallets[min(2, len(wallets) - 1)]
            wallet.precompute(n + 30)
            sign_run(wallet, 20, 1)
            lat, total = sign_run(wallet, n, 1)
            print(f"sign, 1 client, all precomputed            : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            wallet.precompute(n + 10)
            lat, total = sign_run(wallet, n, 2)
            print(f"sign, 2 client threads, all precomputed    : {_fmt_ms(lat)}  {len(lat) / total:6.1f} sig/s")
            if args.profile:
                import cProfile
                import pstats

                wallet.precompute(60)
                profiler = cProfile.Profile()
                profiler.enable()  # in this thread: sign_run's worker threads are not profiled
                for i in range(50):
                    wallet.sign_message(f"profile {i}")
                profiler.disable()
                print("client-side profile of 50 precomputed signatures (cumulative, top 14):")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(14)
            print(f"same-run reference at the end: one r^N mod N² = {reference_ms():.2f} ms "
                  f"(load average {' '.join(f'{v:.1f}' for v in os.getloadavg())})")
            client.wallets.close()
            client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
