"""Regenerate tests/vectors/wallet_keys.json: fixed 2048-bit Paillier keys (ordinary Blum primes)
with their ring-Pedersen parameters, Πmod and Πprm, and fixed client ring-Pedersen parameters
with their Πprm — so that the wallet tests need no prime search and no 128-round proof at start.

    .venv/bin/python -m tests.vectors.generate_wallet_keys
"""

from __future__ import annotations

import json
from pathlib import Path

from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier
from actionmfa.wallet.paillier import generate_paillier_key

SERVER_KEYS = 10
CLIENT_RINGS = 2


def main() -> None:
    servers = [PreparedPaillier.from_key(generate_paillier_key(2048, safe_primes=False)).to_json()
               for _ in range(SERVER_KEYS)]
    clients = []
    for _ in range(CLIENT_RINGS):
        ring, secret = ClientRing.create()
        clients.append({"ring": ring.to_json(), "secret": secret.to_json()})
    out = Path(__file__).with_name("wallet_keys.json")
    out.write_text(json.dumps({"serverKeys": servers, "clientRings": clients}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
