"""Fixed wallet test keys from tests/vectors/wallet_keys.json (see generate_wallet_keys.py there):
2048-bit Paillier keys with their ring-Pedersen parameters, Πmod and Πprm, and client ring-Pedersen
parameters with their Πprm. The proofs are real; only the prime search and proving are skipped."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from actionmfa.wallet.ecdsa2p import ClientKeyShare, ServerKeyShare
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier, VerifiedRings
from actionmfa.wallet.reshare import DELEGATE_PAIR, DelegateShare, PairSetup, client_pair_share, server_pair_share
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


def delegate_ring() -> ClientRing:
    """The developer's registered ring-Pedersen parameters in tests (the second fixed client ring)."""
    return client_ring(1)


def pair_setup(server_shamir: int, delegate: DelegateShare, prepared: PreparedPaillier, *,
               sid: bytes = b"\x07" * 32) -> tuple[ServerKeyShare, ClientKeyShare]:
    """Both sides of a delegate pair set-up, proven against :func:`delegate_ring` (through JSON)."""
    ring = delegate_ring().params
    setup, server = server_pair_share(server_shamir, delegate.public_key, DELEGATE_PAIR, prepared, ring, sid)
    client = client_pair_share(delegate, DELEGATE_PAIR, PairSetup.from_json(setup.to_json()), ring=ring, sid=sid)
    return server, client
