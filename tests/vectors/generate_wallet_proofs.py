"""Regenerate tests/vectors/wallet_proofs.json: known-answer vectors, with fixed randomness
(tests/wallet_rand.py), for every proof of the wallet — Schnorr, Πmod, Πprm, Πfac, Πlog*, Πaff-g —
over the fixed keys of wallet_keys.json. tests/unit/wallet/test_zk_vectors.py checks that proving
again gives the same bytes and that the stored proofs verify.

    .venv/bin/python -m tests.vectors.generate_wallet_proofs
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.wallet_vectors import build_vectors


def main() -> None:
    out = Path(__file__).with_name("wallet_proofs.json")
    out.write_text(json.dumps(build_vectors(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
