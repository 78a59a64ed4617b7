"""Fixed wallet test keys from tests/vectors/wallet_keys.json (see generate_wallet_keys.py there):
2048-bit Paillier keys with their ring-Pedersen parameters, Πmod and Πprm, and client ring-Pedersen
parameters with their Πprm. The proofs are real; only the prime search and proving are skipped."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier, VerifiedRings
from actionmfa.wallet.zk.ring import RingSecret

_PATH = Path(__file__).parent / "vectors" / "wallet_keys.json"


@cache
def _data() -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = json.loads(_PATH.read_text())
    return data


@cache
def server_keys() -> tuple[PreparedPaillier, ...]:
    """Ten distinct pooled keys (index 0 is the one most tests share)."""
    return tuple(PreparedPaillier.from_json(d) for d in _data()["serverKeys"])


@cache
def client_ring(index: int = 0) -> ClientRing:
    entry = _data()["clientRings"][index]
    return ClientRing.from_json(entry["ring"])


@cache
def client_ring_secret(index: int = 0) -> RingSecret:
    return RingSecret.from_json(_data()["clientRings"][index]["secret"])


@cache
def verified_rings() -> VerifiedRings:
    """One cache for the whole test session: each fixed client ring's Πprm is verified once."""
    return VerifiedRings()
