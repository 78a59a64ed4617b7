"""Fixtures for the wallet engine: the fixed 2048-bit test keys of tests/vectors/wallet_keys.json.

2048 bits is the floor the proofs need (and that nobody can lower); the keys and their Πmod/Πprm
are pre-generated so that the suite needs no prime search.
"""

from __future__ import annotations

import pytest

from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.keyproofs import ClientRing
from actionmfa.wallet.paillier import PaillierSecretKey
from tests import wallet_keys

TEST_MODULUS_BITS = 2048


@pytest.fixture(scope="session")
def prepared_paillier() -> e.PreparedPaillier:
    return wallet_keys.server_keys()[0]


@pytest.fixture(scope="session")
def paillier_key(prepared_paillier: e.PreparedPaillier) -> PaillierSecretKey:
    return prepared_paillier.key


@pytest.fixture(scope="session")
def client_ring() -> ClientRing:
    return wallet_keys.client_ring()


@pytest.fixture(scope="session")
def wallet_shares(prepared_paillier: e.PreparedPaillier,
                  client_ring: ClientRing) -> tuple[e.ServerKeyShare, e.ClientKeyShare]:
    """A finished two-party key generation (server share, client share)."""
    sid = e.keygen_session_id("ceremony-1", "env-1", "user-1", wallet_id="wallet-1")
    m1, server_state = e.server_keygen_begin(sid, prepared_paillier)
    m2, client_state = e.client_keygen_respond(sid, e.KeygenCommit.from_json(m1.to_json()), client_ring)
    m3, server_share = e.server_keygen_finish(server_state, e.KeygenShare.from_json(m2.to_json()))
    client_share = e.client_keygen_finish(client_state, e.KeygenOpen.from_json(m3.to_json()))
    return server_share, client_share
