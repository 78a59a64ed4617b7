from __future__ import annotations

import dataclasses

import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet import refresh as rf
from actionmfa.wallet.curve import ORDER, address_of, base_mul
from actionmfa.wallet.payloads import message_request
from actionmfa.wallet.transcript import Role
from tests import wallet_keys

from .helpers import run_signing

Shares = tuple[e.ServerKeyShare, e.ClientKeyShare]


@pytest.fixture(scope="module")
def new_paillier() -> e.PreparedPaillier:
    return wallet_keys.server_keys()[1]


def _refresh(server: e.ServerKeyShare, client: e.ClientKeyShare, prepared: e.PreparedPaillier
             ) -> tuple[e.ServerKeyShare, e.ClientKeyShare]:
    sid = rf.refresh_session_id("wallet-1", "refresh-1", 1)
    m1, sstate = rf.server_refresh_begin(sid, prepared)
    m2, cstate = rf.client_refresh_respond(sid, rf.RefreshCommit.from_json(m1.to_json()),
                                           wallet_keys.client_ring())
    m3, sstate = rf.server_refresh_open(server, rf.ServerRefreshState.from_json(sstate.to_json()),
                                        rf.RefreshContribution.from_json(m2.to_json()))
    new_client, confirm = rf.client_refresh_finish(client, cstate, rf.RefreshOpen.from_json(m3.to_json()))
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
    m2, cstate = rf.client_refresh_respond(sid, m1, wallet_keys.client_ring())
    m3, sstate = rf.server_refresh_open(server, sstate, m2)
    with pytest.raises(WalletProofInvalidError):  # server changes rho1 after seeing rho2
        rf.client_refresh_finish(client, cstate, dataclasses.replace(m3, rho1=(m3.rho1 + 1) % ORDER))
    _, confirm = rf.client_refresh_finish(client, cstate, m3)
    other_sid = rf.refresh_session_id("wallet-1", "refresh-3", 1)
    bad = rf.RefreshConfirm(e.SchnorrProof.prove(other_sid, 5, base_mul(5), role=Role.CLIENT))
    with pytest.raises(WalletProofInvalidError):
        rf.server_refresh_confirm(server, sstate, bad)
    assert rf.server_refresh_confirm(server, sstate, confirm).x1 != server.x1


def test_refresh_with_the_same_paillier_key_is_refused(wallet_shares: Shares,
                                                       prepared_paillier: e.PreparedPaillier) -> None:
    """Issue 9: refresh accepted N' = N. The honest server refuses to open with its current key, and
    the client refuses an opening whose N' is its current N (checked before anything else)."""
    server, client = wallet_shares
    sid = rf.refresh_session_id("wallet-1", "refresh-same", 1)
    m1, sstate = rf.server_refresh_begin(sid, prepared_paillier)
    m2, cstate = rf.client_refresh_respond(sid, m1, wallet_keys.client_ring())
    with pytest.raises(WalletProofInvalidError, match="new Paillier key"):
        rf.server_refresh_open(server, sstate, m2)
    # a malicious server skips its own check: build the opening with the old key anyway
    other = wallet_keys.server_keys()[1]
    m1b, sstate_b = rf.server_refresh_begin(sid, other)
    m3, _ = rf.server_refresh_open(server, sstate_b, m2)
    same = dataclasses.replace(m3, key_proof=dataclasses.replace(m3.key_proof, n=client.paillier.n))
    with pytest.raises(WalletProofInvalidError, match="N' = N"):
        rf.client_refresh_finish(client, dataclasses.replace(cstate, commitment=m1b.commitment), same)


def test_refresh_ckey_encrypting_an_offset_is_refused(wallet_shares: Shares, new_paillier: e.PreparedPaillier) -> None:
    """ckey' = Enc_N'(x1' + 2^900) (a server reading x2' from the next c3) is refused before the
    client confirms or signs."""
    import gmpy2

    from actionmfa.wallet.keyproofs import EncryptedShare
    from actionmfa.wallet.transcript import Transcript
    from actionmfa.wallet.zk.pilog import LogProof

    server, client = wallet_shares
    sid = rf.refresh_session_id("wallet-1", "refresh-cheat", 1)
    m1, sstate = rf.server_refresh_begin(sid, new_paillier)
    m2, cstate = rf.client_refresh_respond(sid, m1, wallet_keys.client_ring())
    m3, sstate = rf.server_refresh_open(server, sstate, m2)
    assert sstate.new_x1 is not None
    pk = new_paillier.key.public
    rho = int(pk.random_unit())
    value = sstate.new_x1 + 2**900
    ckey = int((1 + value * pk.n) * gmpy2.powmod(rho, pk.n, pk.n_squared) % pk.n_squared)
    proof = LogProof.prove(pk, wallet_keys.client_ring().params, Transcript(b"pilog/v2", sid, Role.SERVER), c=ckey,
                           x_point=base_mul(sstate.new_x1), g=base_mul(1), x=value, rho=rho)
    cheat = dataclasses.replace(m3, encrypted_share=EncryptedShare(ckey, proof))
    with pytest.raises(WalletProofInvalidError):
        rf.client_refresh_finish(client, cstate, rf.RefreshOpen.from_json(cheat.to_json()))
