"""Pregenerated wallets (issue 13.1): what one identity costs the server.

Three rounds of ``Pregenerated.create`` over a batch of fresh identities on a temporary SQLite store
(key generation with the stand-in, every proof made and checked, both shares sealed, the rows and
audit rows written in transactions of 25), against the same run's reference: the bare two-party key
generation in memory (``wallet.pregenerated.standin_keygen``). One Paillier key (ordinary Blum
primes, made once) and one stand-in ring-Pedersen set (made once) serve every round, as one request's
do. Prints medians per wallet, the ratio, the projection for a 1,000-identity request, and ``uptime``.

    .venv/bin/python benchmarks/pregenerated_bench.py [--batch 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.pregenerated import Identity
from actionmfa.store.db import Database
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier
from actionmfa.wallet.pregenerated import pregenerated_session_id, standin_keygen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("setting up: one Paillier key (Blum primes) and one stand-in ring …", flush=True)
    prepared = PreparedPaillier.generate(2048, safe_primes=False)
    ring, _ = ClientRing.create()
    ring.verify()
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig(data_dir=Path(tmp), mail_log=True)
        runtime = Runtime.build(config, clock=SystemClock(), keyring=Keyring.generate(),
                                db=Database(f"sqlite:///{tmp}/bench.db"))
        runtime.db.migrate()
        runtime.services.wallets.keys.use(lambda: prepared, size=1)
        service = runtime.services.wallets.pregenerated
        service.use_ring(ring)
        with runtime.db.write() as uow:
            env = runtime.environments.create(uow, name="bench").environment
        standin_keygen(pregenerated_session_id("warm", env.id, "email:warm", wallet_id="warm"), prepared, ring)
        reference, full = [], []
        for n in range(args.rounds):
            started = time.perf_counter()
            for i in range(args.batch):
                sid = pregenerated_session_id(str(uuid.uuid4()), env.id, f"email:r{n}-{i}", wallet_id=str(i))
                standin_keygen(sid, prepared, ring)
            reference.append((time.perf_counter() - started) / args.batch)
            identities = [Identity.parse("email", f"user{n}-{i}@example.com", field="bench")
                          for i in range(args.batch)]
            started = time.perf_counter()
            results = service.create(AdminPrincipal("bench", None), env.id, identities)
            full.append((time.perf_counter() - started) / args.batch)
            assert all(r.created for r in results)
        runtime.close()
    ref_ms, full_ms = statistics.median(reference) * 1000, statistics.median(full) * 1000
    print(f"in-memory two-party keygen with the stand-in (reference): median {ref_ms:.0f} ms per wallet "
          f"({', '.join(f'{r * 1000:.0f}' for r in reference)})")
    print(f"POST …/waas/pregenerated service path (keygen + sealing + SQLite + audit): median {full_ms:.0f} ms "
          f"per wallet ({', '.join(f'{r * 1000:.0f}' for r in full)}); ratio {full_ms / ref_ms:.2f}× the reference")
    print(f"projected 1,000-identity request: {full_ms:.0f} s (plus one pooled Paillier key)")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())


if __name__ == "__main__":
    main()
