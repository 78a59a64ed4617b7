"""What the proven delegate pair set-up costs (issue 9.3), in-process, 2048-bit keys.

Prints medians over ``--rounds`` of: the server's pair set-up (Πfac + Πlog* against the delegate's
registered ring-Pedersen parameters, plus ckey), the delegate's check of it (size, trial division,
Πlog*, Πfac; Πmod and Πprm of the pooled key are memoised per key, so they are timed apart, first
sight), the registration check of the delegate's Πprm, and ``create_delegate_ring()``; and a
same-run reference: one ``r^N mod N²`` exponentiation. Ordinary Blum primes (as ``--fast-keys``).

Run:  .venv/bin/python benchmarks/delegate_pair_bench.py [--rounds 3]
Not a test; the figures depend on the machine and its load (``uptime`` is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import gmpy2

from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import ORDER, base_mul
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier
from actionmfa.wallet.reshare import DelegateShare


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("load before:", os.getloadavg())
    ring = ClientRing.create()[0]
    keys = [PreparedPaillier.generate(2048, safe_primes=False) for _ in range(args.rounds)]
    x = 0x1234567890ABCDEF % ORDER
    server_shamir = 11  # s_2 = f(2) on the line f(z) = x + a·z; the delegate's s_3 = f(3)
    a = (server_shamir - x) * pow(2, -1, ORDER) % ORDER
    delegate = DelegateShare(3, (x + 3 * a) % ORDER, base_mul(x))
    rows: dict[str, list[float]] = {k: [] for k in ("ref", "setup", "check", "check_first", "prm", "ring")}
    for i, prepared in enumerate(keys):
        pk = prepared.key.public
        r = int(pk.random_unit())
        rows["ref"].append(_timed(lambda: gmpy2.powmod(r, pk.n, pk.n_squared)))  # noqa: B023
        sid = bytes([i]) * 32
        out: list[rs.PairSetup] = []
        rows["setup"].append(_timed(lambda: out.append(rs.server_pair_share(  # noqa: B023
            server_shamir, delegate.public_key, rs.DELEGATE_PAIR, prepared, ring.params, sid)[0])))  # noqa: B023
        setup = out[0]
        rows["check_first"].append(_timed(lambda: rs.client_pair_share(
            delegate, rs.DELEGATE_PAIR, setup, ring=ring.params, sid=sid)))  # noqa: B023
        rows["check"].append(_timed(lambda: rs.client_pair_share(
            delegate, rs.DELEGATE_PAIR, setup, ring=ring.params, sid=sid)))  # noqa: B023
        rows["prm"].append(_timed(ring.verify))
        rows["ring"].append(_timed(ClientRing.create))
    ref = statistics.median(rows["ref"])
    labels = {"ref": "reference r^N mod N^2", "setup": "server pair set-up (ckey, Πlog*, Πfac)",
              "check": "delegate check (Πlog*, Πfac; key proofs memoised)",
              "check_first": "delegate check, first sight of the key (+ Πmod, Πprm)",
              "prm": "registration: verify the delegate's Πprm", "ring": "create_delegate_ring()"}
    for key, label in labels.items():
        med = statistics.median(rows[key])
        print(f"{label:58s} median {med:9.1f} ms  ({med / ref:6.1f} refs)  n={len(rows[key])}")
    print("load after:", os.getloadavg())


if __name__ == "__main__":
    main()
