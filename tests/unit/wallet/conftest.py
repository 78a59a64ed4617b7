"""Fixtures for the wallet engine: small Paillier keys generated once per test session.

1024-bit moduli are enough for the protocol's plaintext bound (q³·2^128 < N) and keep the
suite fast; production uses 2048 bits (``keypool.default_paillier_generator``).
"""

from __future__ import annotations

import pytest

from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.paillier import PaillierSecretKey, generate_paillier_key

TEST_MODULUS_BITS = 1024


@pytest.fixture(scope="session")
def paillier_key() -> PaillierSecretKey:
    return generate_paillier_key(TEST_MODULUS_BITS)


@pytest.fixture(scope="session")
def prepared_paillier(paillier_key: PaillierSecretKey) -> e.PreparedPaillier:
    return e.PreparedPaillier.from_key(paillier_key)


@pytest.fixture(scope="session")
def wallet_shares(prepared_paillier: e.PreparedPaillier) -> tuple[e.ServerKeyShare, e.ClientKeyShare]:
    """A finished two-party key generation (server share, client share)."""
    sid = e.keygen_session_id("ceremony-1", "env-1", "user-1")
    m1, server_state = e.server_keygen_begin(sid, prepared_paillier)
    m2, client_state = e.client_keygen_respond(sid, e.KeygenCommit.from_json(m1.to_json()))
    m3, server_share = e.server_keygen_finish(server_state, e.KeygenShare.from_json(m2.to_json()))
    client_share = e.client_keygen_finish(
        client_state, e.KeygenOpen.from_json(m3.to_json()), min_modulus_bits=TEST_MODULUS_BITS
    )
    return server_share, client_share
