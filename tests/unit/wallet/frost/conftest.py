"""A finished two-party FROST key generation, and the helpers the FROST tests share."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost.keys import KeyShare
from actionmfa.wallet.frost.transcript import dkg_context


def seeded(seed: bytes) -> Any:
    """Deterministic 'randomness' (SHA-512 in counter mode) for known-answer runs."""
    counter = [0]

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha512(seed + counter[0].to_bytes(8, "big")).digest()
            counter[0] += 1
        return out[:n]

    return rng


CONTEXT = dkg_context(environment_id="env-1", user_id="user-1", wallet_id="wallet-1", ceremony_id="cer-1")


def run_keygen(context: bytes = CONTEXT, *, server_rng: Any = None, user_rng: Any = None) -> tuple[KeyShare, KeyShare]:
    kw_s = {"rng": server_rng} if server_rng else {}
    kw_u = {"rng": user_rng} if user_rng else {}
    opening, state = fc.server_keygen_begin(context, **kw_s)
    user_state, message = fc.client_keygen_begin(context, opening, **kw_u)
    reply, server = fc.server_keygen_finish(state, context, message)
    user = fc.client_keygen_finish(user_state, context, reply, server.group_public_key)
    return user, server


@pytest.fixture(scope="module")
def frost_shares() -> tuple[KeyShare, KeyShare]:
    return run_keygen()
