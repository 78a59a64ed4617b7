"""The key-pool child process: Paillier prime search and the Πmod proof, off the server's GIL.

Started by :class:`actionmfa.wallet.keypool.ProcessKeyGenerator` as ``python -m
actionmfa.wallet.keychild <parent pid>``; reads ``"<bits> <safe 0|1>"`` lines on stdin and answers
each with one JSON line (:meth:`PreparedPaillier.to_json`). It is a plain subprocess talking over pipes — no
multiprocessing, so no semaphores and no resource-tracker process — and it dies with its parent
(:func:`actionmfa.lifecycle.die_with_parent`) or when its stdin closes.
"""

from __future__ import annotations

import json
import sys

from actionmfa.lifecycle import die_with_parent
from actionmfa.wallet.ecdsa2p import PreparedPaillier


def main(argv: list[str]) -> None:
    die_with_parent(int(argv[0]))
    for line in sys.stdin:
        bits, safe = line.split()
        prepared = PreparedPaillier.generate(int(bits), safe_primes=safe == "1")
        sys.stdout.write(json.dumps(prepared.to_json()) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
