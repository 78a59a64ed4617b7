from __future__ import annotations

import dataclasses

import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet import refresh as rf
from actionmfa.wallet.curve import ORDER, address_of, base_mul
from actionmfa.wallet.paillier import generate_paillier_key
from actionmfa.wallet.payloads import message_request

from .conftest import TEST_MODULUS_BITS
from .helpers import run_signing

Shares = tuple[e.ServerKeyShare, e.ClientKeyShare]


@pytest.fixture(scope="module")
def new_paillier() -> e.PreparedPaillier:
    return e.PreparedPaillier.from_key(generate_paillier_key(TEST_MODULUS_BITS))


def _refresh(server: e.ServerKeyShare, client: e.ClientKeyShare, prepared: e.PreparedPaillier
             ) -> tuple[e.ServerKeyShare, e.ClientKeyShare]:
    sid = rf.refresh_session_id("wallet-1", "refresh-1", 1)
    m1, sstate = rf.server_refresh_begin(sid, prepared)
    m2, cstate = rf.client_refresh_respond(sid, rf.RefreshCommit.from_json(m1.to_json()))
    m3, sstate = rf.server_refresh_open(server, rf.ServerRefreshState.from_json(sstate.to_json()),
                                        rf.RefreshContribution.from_json(m2.to_json()))
    new_client, confirm = rf.client_refresh_finish(client, cstate, rf.RefreshOpen.from_json(m3.to_json()),
                                                   min_modulus_bits=TEST_MODULUS_BITS)
    new_server = rf.server_refresh_confirm(server, rf.ServerRefreshState.from_json(sstate.to_json()),
                                           rf.RefreshConfirm.from_json(confirm.to_json()))
    return new_server, new_client


def test_refresh_keeps_the_key_and_changes_both_shares(wallet_shares: Shares, new_paillier: e.PreparedPaillier) -> None:
    server, client = wallet_shares
    new_server, new_client = _refresh(server, client, new_paillier)
    assert new_server.x1 != server.x1 and new_client.x2 != client.x2
    assert (new_server.x1 + new_client.x2) % ORDER == (server.x1 + client.x2) % ORDER
    assert new_server.paillier.n != server.paillier.n  # a new Paillier key, never a homomorphic-only refresh
    assert new_server.paillier.decrypt(new_client.ckey) == new_server.x1
    # stale mixes do not make the key
    assert base_mul((server.x1 + new_client.x2) % ORDER).format() != client.public_key.format()
    sig = run_signing(new_server, new_client, message_request("after refresh"))
    assert e.verify_signature(client.public_key, message_request("after refresh").digest(), sig)
    assert address_of(new_client.public_key) == address_of(client.public_key)


def test_refresh_rejects_wrong_opening_and_bad_confirmation(
    wallet_shares: Shares, new_paillier: e.PreparedPaillier
) -> None:
    server, client = wallet_shares
    sid = rf.refresh_session_id("wallet-1", "refresh-2", 1)
    m1, sstate = rf.server_refresh_begin(sid, new_paillier)
    m2, cstate = rf.client_refresh_respond(sid, m1)
    m3, sstate = rf.server_refresh_open(server, sstate, m2)
    with pytest.raises(WalletProofInvalidError):  # server changes rho1 after seeing rho2
        rf.client_refresh_finish(client, cstate, dataclasses.replace(m3, rho1=(m3.rho1 + 1) % ORDER),
                                 min_modulus_bits=TEST_MODULUS_BITS)
    _, confirm = rf.client_refresh_finish(client, cstate, m3, min_modulus_bits=TEST_MODULUS_BITS)
    other_sid = rf.refresh_session_id("wallet-1", "refresh-3", 1)
    bad = rf.RefreshConfirm(e.SchnorrProof.prove(other_sid, 5, base_mul(5)))
    with pytest.raises(WalletProofInvalidError):
        rf.server_refresh_confirm(server, sstate, bad)
    assert rf.server_refresh_confirm(server, sstate, confirm).x1 != server.x1
