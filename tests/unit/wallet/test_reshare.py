"""Reshare 2-of-2 ↔ 2-of-3 (wallet-crypto.md §5.C/D): Feldman checks, unchanged key, delegate signing,
revocation, and the delegated-share envelope."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from eth_account.messages import encode_defunct

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import ORDER, address_of, base_mul
from actionmfa.wallet.keyproofs import EncryptedShare
from actionmfa.wallet.payloads import message_request
from tests import wallet_keys

from .helpers import run_signing

Shares = tuple[e.ServerKeyShare, e.ClientKeyShare]


@pytest.fixture(scope="module")
def fresh_keys() -> list[e.PreparedPaillier]:
    return list(wallet_keys.server_keys()[1:4])


@pytest.fixture(scope="module")
def delegate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _reshare(server: e.ServerKeyShare, client: e.ClientKeyShare, scheme: rs.ThresholdScheme,
             prepared: e.PreparedPaillier, *, ceremony: str = "reshare-1"
             ) -> tuple[e.ServerKeyShare, e.ClientKeyShare, rs.ServerReshareState, list[int]]:
    """Run the four messages through JSON; returns the delegate's sub-shares (in the clear, tests only)."""
    sid = rs.reshare_session_id("wallet-1", ceremony, 1, scheme)
    to_delegate: list[int] = []

    def seal(value: int) -> dict[str, str]:
        to_delegate.append(value)
        return {"alg": "test"}

    m1, sstate = rs.server_reshare_begin(sid, server, scheme, prepared)
    m2, cstate = rs.client_reshare_respond(sid, client, rs.ReshareOffer.from_json(m1.to_json()),
                                           wallet_keys.client_ring(), seal_for_delegate=seal)
    m3, sstate = rs.server_reshare_open(server, rs.ServerReshareState.from_json(sstate.to_json()),
                                        rs.ReshareDealing.from_json(m2.to_json()))
    new_client, confirm = rs.client_reshare_finish(client, cstate, rs.ReshareOpen.from_json(m3.to_json()))
    new_server = rs.server_reshare_confirm(server, rs.ServerReshareState.from_json(sstate.to_json()),
                                           rs.ReshareConfirm.from_json(confirm.to_json()))
    if rs.DELEGATE_INDEX in rs.holders_of(scheme):
        to_delegate.insert(0, sstate.sub_shares[rs.DELEGATE_INDEX])
    return new_server, new_client, sstate, to_delegate


def _delegate(sstate: rs.ServerReshareState, subs: list[int], q: e.Point) -> rs.DelegateShare:
    assert sstate.user_commitments is not None
    return rs.delegate_receive([(subs[0], sstate.commitments), (subs[1], sstate.user_commitments)], q)


def _sign_with_pair(server_shamir: int, delegate: rs.DelegateShare, prepared: e.PreparedPaillier,
                    text: str) -> e.Signature:
    server_pair, client_pair = wallet_keys.pair_setup(server_shamir, delegate, prepared)
    return run_signing(server_pair, client_pair, message_request(text), ceremony_id="delegate-sign")


# --- Shamir / Feldman -------------------------------------------------------------------------


def test_feldman_accepts_honest_and_rejects_tampered_sub_shares() -> None:
    dealing = rs.deal(12345, (1, 2, 3))
    for j, value in dealing.sub_shares.items():
        rs.verify_sub_share(j, value, dealing.commitments)
    with pytest.raises(WalletProofInvalidError):
        rs.verify_sub_share(2, (dealing.sub_shares[2] + 1) % ORDER, dealing.commitments)
    with pytest.raises(WalletProofInvalidError):  # right value, wrong index
        rs.verify_sub_share(3, dealing.sub_shares[2], dealing.commitments)


def test_lagrange_pairs_reconstruct_and_single_shares_do_not() -> None:
    secret = 987654321
    shares = rs.deal(secret, (1, 2, 3)).sub_shares
    for pair in ((1, 2), (1, 3), (2, 3)):
        assert sum(rs.additive_share(j, shares[j], pair) for j in pair) % ORDER == secret
        assert all(shares[j] != secret for j in pair)
    assert rs.shamir_from_additive(2, rs.additive_share(2, shares[2], (1, 2)), (1, 2)) == shares[2]


# --- ceremony ----------------------------------------------------------------------------------


def test_reshare_to_two_of_three_keeps_address_and_user_pair_signs(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
) -> None:
    server, client = wallet_shares
    new_server, new_client, _, subs = _reshare(server, client, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    assert address_of(new_client.public_key) == address_of(client.public_key)
    assert new_client.x2 != client.x2 and new_server.x1 != server.x1
    assert new_server.paillier.n != server.paillier.n  # a new Paillier key for the pair
    assert (new_server.x1 + new_client.x2) % ORDER == (server.x1 + client.x2) % ORDER
    sig = run_signing(new_server, new_client, message_request("user after reshare"))
    recovered = Account.recover_message(encode_defunct(text="user after reshare"), vrs=(sig.v + 27, sig.r, sig.s))
    assert recovered == address_of(client.public_key)
    assert len(subs) == 2


def test_delegate_and_server_sign_for_the_same_address(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
) -> None:
    server, client = wallet_shares
    new_server, _, sstate, subs = _reshare(server, client, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    delegate = _delegate(sstate, subs, server.public_key)
    server_shamir = rs.shamir_from_additive(rs.SERVER_INDEX, new_server.x1, (rs.USER_INDEX, rs.SERVER_INDEX))
    sig = _sign_with_pair(server_shamir, delegate, fresh_keys[1], "agent signs")
    recovered = Account.recover_message(encode_defunct(text="agent signs"), vrs=(sig.v + 27, sig.r, sig.s))
    assert recovered == address_of(server.public_key)


def test_delegate_rejects_a_tampered_sub_share(wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]) -> None:
    server, client = wallet_shares
    _, _, sstate, subs = _reshare(server, client, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    with pytest.raises(WalletProofInvalidError):
        _delegate(sstate, [subs[0], (subs[1] + 1) % ORDER], server.public_key)
    other = base_mul(7)
    with pytest.raises(WalletProofInvalidError):  # commitments do not add up to the claimed key
        _delegate(sstate, subs, other)


def test_user_refuses_a_server_dealing_that_changes_the_key(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
) -> None:
    server, client = wallet_shares
    sid = rs.reshare_session_id("wallet-1", "r", 1, rs.ThresholdScheme.TWO_OF_THREE)
    rogue = e.ServerKeyShare((server.x1 + 1) % ORDER, server.paillier, server.public_key)
    offer, _ = rs.server_reshare_begin(sid, rogue, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    with pytest.raises(WalletProofInvalidError):
        rs.client_reshare_respond(sid, client, offer, wallet_keys.client_ring(), seal_for_delegate=lambda v: {})
    honest, _ = rs.server_reshare_begin(sid, server, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    tampered = rs.ReshareOffer(honest.scheme, honest.commitments, (honest.sub_share + 1) % ORDER)
    with pytest.raises(WalletProofInvalidError):
        rs.client_reshare_respond(sid, client, tampered, wallet_keys.client_ring(), seal_for_delegate=lambda v: {})


def test_server_refuses_tampered_user_dealing_and_the_old_paillier_key(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier], prepared_paillier: e.PreparedPaillier
) -> None:
    server, client = wallet_shares
    sid = rs.reshare_session_id("wallet-1", "r", 1, rs.ThresholdScheme.TWO_OF_TWO)
    offer, sstate = rs.server_reshare_begin(sid, server, rs.ThresholdScheme.TWO_OF_TWO, fresh_keys[0])
    dealing, _ = rs.client_reshare_respond(sid, client, offer, wallet_keys.client_ring())
    bad = rs.ReshareDealing(dealing.commitments, (dealing.sub_share + 1) % ORDER, None, dealing.ring)
    with pytest.raises(WalletProofInvalidError):
        rs.server_reshare_open(server, sstate, bad)
    _, same_key_state = rs.server_reshare_begin(sid, server, rs.ThresholdScheme.TWO_OF_TWO, prepared_paillier)
    with pytest.raises(WalletProofInvalidError):
        rs.server_reshare_open(server, rs.ServerReshareState(
            same_key_state.sid, sstate.scheme, sstate.commitments, sstate.sub_shares, prepared_paillier), dealing)


def test_revoke_back_to_two_of_two_keeps_address_and_stale_delegate_share_is_useless(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
) -> None:
    server, client = wallet_shares
    s3, c3, sstate, subs = _reshare(server, client, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    delegate = _delegate(sstate, subs, server.public_key)
    s2, c2, _, none = _reshare(s3, c3, rs.ThresholdScheme.TWO_OF_TWO, fresh_keys[1], ceremony="revoke-1")
    assert none == []
    assert address_of(c2.public_key) == address_of(client.public_key)
    sig = run_signing(s2, c2, message_request("after revoke"))
    assert e.verify_signature(client.public_key, message_request("after revoke").digest(), sig)
    # Stale-share mix: the old delegate share with the new server (or user) share is not the key.
    pair = (rs.USER_INDEX, rs.SERVER_INDEX)
    new_server_shamir = rs.shamir_from_additive(rs.SERVER_INDEX, s2.x1, pair)
    new_user_shamir = rs.shamir_from_additive(rs.USER_INDEX, c2.x2, pair)
    key = (server.x1 + client.x2) % ORDER
    mix_server = (rs.additive_share(2, new_server_shamir, (2, 3)) + rs.additive_share(3, delegate.share, (2, 3)))
    mix_user = (rs.additive_share(1, new_user_shamir, (1, 3)) + rs.additive_share(3, delegate.share, (1, 3)))
    assert mix_server % ORDER != key and mix_user % ORDER != key
    with pytest.raises(WalletProofInvalidError):  # the 2P setup itself refuses the stale combination
        wallet_keys.pair_setup(new_server_shamir, delegate, fresh_keys[2])
    # …while before revocation the same delegate share did combine with the then-current server share.
    old_server_shamir = rs.shamir_from_additive(rs.SERVER_INDEX, s3.x1, pair)
    assert (rs.additive_share(2, old_server_shamir, (2, 3)) + rs.additive_share(3, delegate.share, (2, 3))) % ORDER \
        == key


# --- envelope and webhook signature ---------------------------------------------------------------


def test_envelope_round_trip_and_hmac(delegate_key: rsa.RSAPrivateKey) -> None:
    envelope = dg.seal_envelope(_pem(delegate_key), b"secret sub-share")
    assert set(envelope) == {"alg", "iv", "ct", "tag", "ek"} and envelope["alg"] == "HYBRID-RSA-AES-256"
    assert dg.open_envelope(delegate_key, envelope) == b"secret sub-share"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WalletProofInvalidError):
        dg.open_envelope(other, envelope)
    body = json.dumps({"a": 1}).encode()
    sig = dg.sign_body(b"k" * 32, body)
    assert dg.verify_body(b"k" * 32, body, sig)
    assert not dg.verify_body(b"k" * 32, body + b" ", sig)
    with pytest.raises(ValueError):
        dg.load_rsa_public_key(_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))  # noqa: S505 - refused


def test_reshare_ckey_encrypting_an_offset_is_refused(wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.wallet_attacks import shifted_encrypt_share

    monkeypatch.setattr(rs, "encrypt_share", shifted_encrypt_share(2**900))
    with pytest.raises(WalletProofInvalidError):
        _reshare(*wallet_shares, rs.ThresholdScheme.TWO_OF_TWO, fresh_keys[0], ceremony="reshare-cheat")


# --- the delegate pair set-up is proven (issue 9.3) -------------------------------------------------


def _pair_attack(wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
                 ) -> tuple[rs.DelegateShare, int]:
    server, client = wallet_shares
    new_server, _, sstate, subs = _reshare(server, client, rs.ThresholdScheme.TWO_OF_THREE, fresh_keys[0])
    delegate = _delegate(sstate, subs, server.public_key)
    return delegate, rs.shamir_from_additive(rs.SERVER_INDEX, new_server.x1, rs.USER_PAIR)


def test_delegate_refuses_a_pair_ckey_encrypting_an_offset(wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 item 3: a server sending the delegate pair ckey = Enc(x1_pair + 2^900) (with the best
    Πlog* it can make) is refused by the delegate before it has a share to sign with — hence before
    any c3 leaves it. Before the fix the pair set-up carried no Πlog* and this was accepted."""
    from tests.wallet_attacks import shifted_encrypt_share

    delegate, server_shamir = _pair_attack(wallet_shares, fresh_keys)
    wallet_keys.pair_setup(server_shamir, delegate, fresh_keys[1])  # honest: accepted
    monkeypatch.setattr(rs, "encrypt_share", shifted_encrypt_share(2**900))
    with pytest.raises(WalletProofInvalidError, match="Encrypted-share proof invalid"):
        wallet_keys.pair_setup(server_shamir, delegate, fresh_keys[1])


def test_pair_setup_proofs_bind_the_delegates_own_ring_and_the_ceremony(
    wallet_shares: Shares, fresh_keys: list[e.PreparedPaillier]
) -> None:
    delegate, server_shamir = _pair_attack(wallet_shares, fresh_keys)
    ring, sid = wallet_keys.delegate_ring().params, b"\x01" * 32
    setup, _ = rs.server_pair_share(server_shamir, delegate.public_key, rs.DELEGATE_PAIR, fresh_keys[1], ring, sid)
    assert rs.client_pair_share(delegate, rs.DELEGATE_PAIR, setup, ring=ring, sid=sid).ckey == setup.ckey
    with pytest.raises(WalletProofInvalidError):  # proofs made against parameters the server chose
        rs.client_pair_share(delegate, rs.DELEGATE_PAIR, setup, ring=wallet_keys.client_ring(0).params, sid=sid)
    with pytest.raises(WalletProofInvalidError):  # a set-up from another ceremony or share version
        rs.client_pair_share(delegate, rs.DELEGATE_PAIR, setup, ring=ring, sid=b"\x02" * 32)
    honest, nn = setup.encrypted_share, setup.paillier_n ** 2
    tampered = rs.PairSetup(setup.public_share, setup.key_proof,  # ckey · Enc(1; 1): x1_pair + 1 under N
                            EncryptedShare(honest.ckey * (1 + setup.paillier_n) % nn, honest.proof))
    with pytest.raises(WalletProofInvalidError):
        rs.client_pair_share(delegate, rs.DELEGATE_PAIR, tampered, ring=ring, sid=sid)
