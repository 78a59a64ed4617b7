from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from actionmfa.errors import WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.curve import HALF_ORDER, ORDER, add_points, address_of, base_mul
from actionmfa.wallet.keyproofs import ClientRing
from actionmfa.wallet.payloads import (
    assemble,
    authorization_request,
    message_request,
    transaction_request,
    typed_data_request,
)

from .helpers import AUTHORIZATION, TX_1559, TYPED_DATA, run_signing

Shares = tuple[e.ServerKeyShare, e.ClientKeyShare]


def test_keygen_shares_add_up(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    assert server.public_key.format() == client.public_key.format()
    joint = (server.x1 + client.x2) % ORDER
    assert base_mul(joint).format() == client.public_key.format()
    assert add_points(base_mul(server.x1), base_mul(client.x2)).format() == server.public_key.format()
    assert server.paillier.decrypt(client.ckey) == server.x1


def test_shares_json_round_trip(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    assert e.ServerKeyShare.from_json(server.to_json()).x1 == server.x1
    assert e.ClientKeyShare.from_json(client.to_json()).ckey == client.ckey


def test_eip191_text_and_bytes_recover(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    address = address_of(client.public_key)
    for message, signable in (
        ("hello 2P-ECDSA", encode_defunct(text="hello 2P-ECDSA")),
        (b"\x00\x01raw", encode_defunct(primitive=b"\x00\x01raw")),
    ):
        request = message_request(message)
        sig = run_signing(server, client, request)
        assert sig.s <= HALF_ORDER
        signed = assemble(request, sig)
        assert Account.recover_message(signable, signature=signed.signature) == address
        assert signed.message_hash == request.digest()
        assert signed.v in (27, 28)


def test_eip712_recovers(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    request = typed_data_request(TYPED_DATA)
    signed = assemble(request, run_signing(server, client, request))
    recovered = Account.recover_message(encode_typed_data(full_message=TYPED_DATA), signature=signed.signature)
    assert recovered == address_of(client.public_key)


def test_eip1559_transaction_recovers(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    request = transaction_request(TX_1559)
    signed = assemble(request, run_signing(server, client, request))
    assert signed.raw_transaction[:1] == b"\x02"
    assert Account.recover_transaction(signed.raw_transaction) == address_of(client.public_key)


def test_eip7702_authorization_and_type4_transaction(wallet_shares: Shares) -> None:
    server, client = wallet_shares
    address = address_of(client.public_key)
    request = authorization_request(AUTHORIZATION)
    auth = assemble(request, run_signing(server, client, request))
    assert auth.authority == bytes.fromhex(address[2:])
    tx = {**TX_1559, "type": 4, "gas": 60000, "to": address, "value": 0, "authorizationList": [auth]}
    tx_request = transaction_request(tx)
    signed = assemble(tx_request, run_signing(server, client, tx_request))
    assert signed.raw_transaction[:1] == b"\x04"
    assert Account.recover_transaction(signed.raw_transaction) == address


def test_tampered_client_ciphertext_is_refused_by_its_proof(wallet_shares: Shares) -> None:
    """A malicious P2 adds an offset under encryption: Πaff-g fails, nothing is decrypted."""
    server, client = wallet_shares
    digest = message_request("x").digest()
    sid = e.sign_session_id("wallet-1", "tampered-proof", digest, key_version=1)
    m1, sstate = e.server_sign_begin(sid, digest)
    m2, cstate = e.client_sign_respond(sid, digest, m1)
    m3, sstate = e.server_sign_reveal(sstate, m2)
    partial = e.client_sign_finish(client, cstate, m3)
    pk = client.paillier
    tampered = dataclasses.replace(partial, ciphertext=pk.add(partial.ciphertext, pk.encrypt(2**200)))
    with pytest.raises(WalletProofInvalidError):
        e.server_sign_complete(server, sstate, tampered)
    with pytest.raises(WalletProofInvalidError):
        e.server_sign_complete(server, sstate, dataclasses.replace(partial, proof=None))
    assert e.verify_signature(client.public_key, digest, e.server_sign_complete(server, sstate, partial))


def test_tampered_client_ciphertext_gives_invalid_signature(wallet_shares: Shares,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With the proof check disabled, the signature check is the last line (CVE-2023-33242)."""
    from actionmfa.wallet.zk.piaffg import AffgProof

    monkeypatch.setattr(AffgProof, "verify", lambda self, *a, **k: None)
    server, client = wallet_shares
    digest = message_request("x").digest()
    sid = e.sign_session_id("wallet-1", "tampered", digest, key_version=1)
    m1, sstate = e.server_sign_begin(sid, digest)
    m2, cstate = e.client_sign_respond(sid, digest, m1)
    m3, sstate = e.server_sign_reveal(sstate, m2)
    partial = e.client_sign_finish(client, cstate, m3)
    pk = client.paillier
    tampered = dataclasses.replace(partial, ciphertext=pk.add(partial.ciphertext, pk.encrypt(2**200)))
    with pytest.raises(WalletSignatureInvalidError) as err:
        e.server_sign_complete(server, sstate, tampered)
    assert err.value.code == "wallet_signature_invalid"


def test_digest_mismatch_between_parties_is_refused(wallet_shares: Shares) -> None:
    """The proofs are bound to a sid that contains the digest: a client on another payload fails."""
    digest_a = message_request("pay Alice").digest()
    digest_b = message_request("pay Mallory").digest()
    sid_a = e.sign_session_id("wallet-1", "c", digest_a, key_version=1)
    sid_b = e.sign_session_id("wallet-1", "c", digest_b, key_version=1)
    m1, sstate = e.server_sign_begin(sid_a, digest_a)
    m2, _ = e.client_sign_respond(sid_b, digest_b, m1)
    with pytest.raises(WalletProofInvalidError):
        e.server_sign_reveal(sstate, m2)


def test_client_rejects_wrong_opening(wallet_shares: Shares) -> None:
    _, client = wallet_shares
    digest = message_request("x").digest()
    sid = e.sign_session_id("wallet-1", "c2", digest, key_version=1)
    m1, sstate = e.server_sign_begin(sid, digest)
    m2, cstate = e.client_sign_respond(sid, digest, m1)
    m3, _ = e.server_sign_reveal(sstate, m2)
    other, _ = e.server_sign_reveal(e.server_sign_begin(sid, digest)[1], m2)
    with pytest.raises(WalletProofInvalidError):
        e.client_sign_finish(client, cstate, dataclasses.replace(m3, nonce_point=other.nonce_point))


def test_server_keygen_rejects_bad_client_proof(prepared_paillier: e.PreparedPaillier,
                                                client_ring: ClientRing) -> None:
    sid = e.keygen_session_id("c", "env", "user", wallet_id="wallet-1")
    m1, sstate = e.server_keygen_begin(sid, prepared_paillier)
    m2, _ = e.client_keygen_respond(e.keygen_session_id("other", "env", "user", wallet_id="wallet-1"), m1,
                                    client_ring)
    with pytest.raises(WalletProofInvalidError):
        e.server_keygen_finish(sstate, m2)


def test_malformed_messages_raise_typed_error() -> None:
    for cls, body in (
        (e.SignNonce, {"R2": "zz", "proof": {}}),
        (e.SignPartial, {"c": 5}),
        (e.KeygenCommit, {"commitment": "00"}),
        (e.Signature, {"r": "01", "s": "01", "v": 5}),
    ):
        with pytest.raises(WalletProofInvalidError):
            cls.from_json(body)  # type: ignore[attr-defined]
