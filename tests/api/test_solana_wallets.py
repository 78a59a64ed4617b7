"""Solana wallets over HTTP: creation, listing, the gate, signing, binding and nonce freshness."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from nacl.signing import VerifyKey
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from sqlalchemy import func, select

from actionmfa.errors import MfaRequiredError
from actionmfa.sdk.solana_wallets import SolanaWallet
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.solana_shares import SolanaShares
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.payloads import message_request as evm_message_request
from actionmfa.wallet.solana.payloads import message_request, transaction_request
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

mfa_user = wallet_support.mfa_user
open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def _ceremonies(runtime: Runtime, kind: str = "sign") -> int:
    with runtime.db.read() as uow:
        q = select(func.count()).select_from(waas_ceremonies).where(waas_ceremonies.c.kind == kind)
        return int(uow.conn.execute(q).scalar_one())


def _transfer_message(wallet: SolanaWallet, lamports: int = 1000) -> Message:
    ix = transfer(TransferParams(from_pubkey=wallet.pubkey, to_pubkey=Pubkey.new_unique(), lamports=lamports))
    return Message.new_with_blockhash([ix], wallet.pubkey, Hash.new_unique())


def _verify_everywhere(address: str, msg: bytes, sig: Signature) -> None:
    pk = Pubkey.from_string(address)
    assert sig.verify(pk, msg)  # solders
    VerifyKey(bytes(pk)).verify(msg, bytes(sig))  # libsodium
    Ed25519PublicKey.from_public_bytes(bytes(pk)).verify(bytes(sig), msg)  # OpenSSL


def test_create_lists_and_shows_the_wallet_as_a_solana_credential(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    assert isinstance(wallet, SolanaWallet)
    assert 32 <= len(wallet.address) <= 44 and bytes(Pubkey.from_string(wallet.address))
    listed = open_user.sdk.wallets.list()
    assert [(w.id, w.chain, w.address) for w in listed] == [(wallet.id, "SOL", wallet.address)]
    creds = open_user.sdk.users.me().verified_credentials
    chains = [(c.get("chain"), c.get("address")) for c in creds if c["format"] == "blockchain"]
    assert chains == [("solana", wallet.address)]
    evm = open_user.sdk.wallets.create()  # EVM stays the default
    assert evm.chain == "EVM" and evm.address.startswith("0x")


def test_sign_message_verifies_with_three_verifiers(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    sig = wallet.sign_message(b"hello from two parties")
    assert isinstance(sig, Signature)
    _verify_everywhere(wallet.address, b"hello from two parties", sig)


def test_sign_transaction_returns_a_signed_versioned_transaction(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    for message in (_transfer_message(wallet),
                    MessageV0.try_compile(wallet.pubkey, [transfer(TransferParams(
                        from_pubkey=wallet.pubkey, to_pubkey=Pubkey.new_unique(), lamports=7))], [],
                        Hash.new_unique())):
        signed = wallet.sign_transaction(message)
        assert isinstance(signed, VersionedTransaction)
        assert signed.verify_with_results() == [True]
        _verify_everywhere(wallet.address, to_bytes_versioned(message), signed.signatures[0])


def test_gate_refuses_without_token_and_leaves_no_state(
    app_client: TestClient, mfa_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = mfa_user.sdk.wallets.create(chain="SOL")
    touched: list[str] = []
    original = SolanaShares.open

    def spy(self: SolanaShares, row: Any) -> Any:
        touched.append(row.id)
        return original(self, row)

    monkeypatch.setattr(SolanaShares, "open", spy)
    body = transaction_request(_transfer_message(wallet)).to_json()
    r = app_client.post(mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage"), json=body,
                        headers=mfa_user.signed_in.headers)
    assert r.status_code == 403 and r.json() == {"error": "MFA required", "code": "mfa_required"}
    assert _ceremonies(wallet_runtime) == 0 and touched == []
    with pytest.raises(MfaRequiredError):
        wallet.sign_message(b"not approved")
    assert _ceremonies(wallet_runtime) == 0 and touched == []
    # With a token, the same request opens exactly one ceremony and the token is spent.
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    signed = wallet.sign_message(b"approved")
    _verify_everywhere(wallet.address, b"approved", signed)
    assert _ceremonies(wallet_runtime) == 1
    with pytest.raises(MfaRequiredError):
        wallet.sign_message(b"approved again")


def _open(app_client: TestClient, user: WalletUser, wallet: SolanaWallet, body: dict[str, Any]) -> dict[str, Any]:
    r = app_client.post(user.env.sdk(f"/waas/{wallet.id}/signMessage"), json=body, headers=user.signed_in.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _complete(app_client: TestClient, user: WalletUser, wallet: SolanaWallet, ceremony_id: str,
              body: dict[str, Any], message: dict[str, Any]) -> Any:
    return app_client.post(user.env.sdk(f"/waas/{wallet.id}/signMessage/{ceremony_id}/complete"),
                           json={**body, "message": message}, headers=user.signed_in.headers)


def _share(wallet: SolanaWallet) -> Any:
    return wallet._user_share()


def test_open_answers_the_approval_facts(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    message = _transfer_message(wallet, lamports=4242)
    opened = _open(app_client, open_user, wallet, transaction_request(message).to_json())
    summary = opened["summary"]
    assert summary["feePayer"] == wallet.address and summary["version"] == "legacy"
    assert summary["programIds"] == ["11111111111111111111111111111111"]
    (t,) = summary["transfers"]
    assert t["amount"] == "4242" and t["source"] == {"address": wallet.address}
    assert t["recipient"] == {"address": str(message.account_keys[1])}


def test_the_payload_cannot_change_between_rounds(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    body = transaction_request(_transfer_message(wallet, 1)).to_json()
    opened = _open(app_client, open_user, wallet, body)
    other = transaction_request(_transfer_message(wallet, 10**9)).to_json()
    message, _ = fc.client_sign(_share(wallet), base64.b64decode(other["payload"]["message"]), opened["message"])
    r = _complete(app_client, open_user, wallet, opened["ceremonyId"], other, message)
    assert r.status_code == 422 and r.json()["code"] == "ceremony_invalid"


def test_a_claimed_round_cannot_run_again(app_client: TestClient, open_user: WalletUser) -> None:
    # The completing round erases the server's nonces as it claims the ceremony: replaying it (or a
    # second user message for it) gets nothing signed with the same nonces.
    wallet = open_user.sdk.wallets.create(chain="SOL")
    body = message_request(b"once").to_json()
    opened = _open(app_client, open_user, wallet, body)
    message, _ = fc.client_sign(_share(wallet), b"once", opened["message"])
    first = _complete(app_client, open_user, wallet, opened["ceremonyId"], body, message)
    assert first.status_code == 200
    again, _ = fc.client_sign(_share(wallet), b"once", opened["message"])
    second = _complete(app_client, open_user, wallet, opened["ceremonyId"], body, again)
    assert second.status_code == 422 and second.json()["code"] == "ceremony_invalid"


def test_a_tampered_user_commitment_burns_the_round(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    body = message_request(b"tamper").to_json()
    opened = _open(app_client, open_user, wallet, body)
    message, _ = fc.client_sign(_share(wallet), b"tamper", opened["message"])
    forged = copy.deepcopy(message)
    forged["commitments"]["hiding"], forged["commitments"]["binding"] = (
        message["commitments"]["binding"], message["commitments"]["hiding"])
    r = _complete(app_client, open_user, wallet, opened["ceremonyId"], body, forged)
    assert r.status_code == 422 and r.json()["code"] == "wallet_signature_invalid"
    # The round is spent: an honest retry of the same ceremony is refused, a new ceremony works.
    r = _complete(app_client, open_user, wallet, opened["ceremonyId"], body, message)
    assert r.status_code == 422 and r.json()["code"] == "ceremony_invalid"
    _verify_everywhere(wallet.address, b"tamper", wallet.sign_message(b"tamper"))


def test_lost_rounds_are_retried_with_fresh_nonces(app_client: TestClient, open_user: WalletUser) -> None:
    # A lost answer (the completing request never sent, or its answer lost) is retried as a new
    # ceremony: no two ceremonies — nor two signatures of the same message — share a nonce commitment.
    wallet = open_user.sdk.wallets.create(chain="SOL")
    body = message_request(b"same message").to_json()
    commitments: list[str] = []
    for _ in range(3):  # abandoned after the server committed
        opened = _open(app_client, open_user, wallet, body)
        commitments += [opened["message"]["commitments"]["hiding"], opened["message"]["commitments"]["binding"]]
    rs: list[bytes] = []
    for _ in range(3):
        opened = _open(app_client, open_user, wallet, body)
        message, _ = fc.client_sign(_share(wallet), b"same message", opened["message"])
        r = _complete(app_client, open_user, wallet, opened["ceremonyId"], body, message)
        assert r.status_code == 200
        for c in (opened["message"]["commitments"], message["commitments"]):
            commitments += [c["hiding"], c["binding"]]
        rs.append(bytes.fromhex(r.json()["signatureHex"])[:32])
    assert len(set(commitments)) == len(commitments)
    assert len(set(rs)) == len(rs)


def test_payloads_of_the_wrong_chain_are_refused(app_client: TestClient, open_user: WalletUser) -> None:
    sol = open_user.sdk.wallets.create(chain="SOL")
    evm = open_user.sdk.wallets.create()
    r = app_client.post(open_user.env.sdk(f"/waas/{sol.id}/signMessage"), json=evm_message_request("hi").to_json(),
                        headers=open_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "wallet_chain_unsupported"
    r = app_client.post(open_user.env.sdk(f"/waas/{evm.id}/signMessage"), json=message_request(b"hi").to_json(),
                        headers=open_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "wallet_chain_unsupported"


def test_bad_solana_payloads_are_clear_422s(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create(chain="SOL")
    url, headers = open_user.env.sdk(f"/waas/{wallet.id}/signMessage"), open_user.signed_in.headers
    stranger = Keypair().pubkey()
    not_ours = Message.new_with_blockhash(
        [transfer(TransferParams(from_pubkey=stranger, to_pubkey=wallet.pubkey, lamports=1))], stranger,
        Hash.new_unique())
    raw_tx = to_bytes_versioned(_transfer_message(wallet))
    for payload in ({"message": "%%%"}, {"message": base64.b64encode(b"\x01garbage").decode()},
                    {"message": base64.b64encode(raw_tx + b"\x00").decode()},
                    {"message": base64.b64encode(to_bytes_versioned(not_ours)).decode()}, "x", None):
        r = app_client.post(url, json={"kind": "solTransaction", "payload": payload}, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", (payload, r.text)
    # A transaction message cannot be slipped in as an off-chain message.
    r = app_client.post(url, json={"kind": "solMessage", "payload": {"message": base64.b64encode(raw_tx).decode()}},
                        headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    with pytest.raises(Exception, match="transaction"):
        wallet.sign_message(raw_tx)


def test_a_lost_creation_answer_is_recovered_by_resending(open_user: WalletUser,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The server created the wallet but its answer never arrived: the SDK sends the same message again
    # and gets the same wallet and reply (the finish is idempotent while the ceremony lives).
    http = open_user.sdk._http
    original = http.request
    dropped: list[str] = []

    def lose_first_finish(method: str, url: str, **kw: Any) -> Any:
        response = original(method, url, **kw)
        if "/waas/create/" in str(url) and not dropped:
            dropped.append(str(url))
            raise httpx.ReadError("answer lost")
        return response

    monkeypatch.setattr(http, "request", lose_first_finish)
    wallet = open_user.sdk.wallets.create(chain="SOL")
    monkeypatch.undo()
    assert len(dropped) == 1
    assert [w.id for w in open_user.sdk.wallets.list()] == [wallet.id]
    _verify_everywhere(wallet.address, b"recovered", wallet.sign_message(b"recovered"))


def test_a_finished_creation_refuses_another_message(app_client: TestClient, open_user: WalletUser) -> None:
    headers = open_user.signed_in.headers
    opened = app_client.post(open_user.env.sdk("/waas/create"), json={"chain": "SOL"}, headers=headers).json()
    from actionmfa.wallet.frost.transcript import dkg_context

    ctx = dkg_context(environment_id=open_user.env.id, user_id=opened["userId"], wallet_id=opened["walletId"],
                      ceremony_id=opened["ceremonyId"])
    _, first = fc.client_keygen_begin(ctx, opened["message"])
    _, second = fc.client_keygen_begin(ctx, opened["message"])
    url = open_user.env.sdk(f"/waas/create/{opened['ceremonyId']}")
    a = app_client.post(url, json={"message": first}, headers=headers)
    b = app_client.post(url, json={"message": first}, headers=headers)
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    c = app_client.post(url, json={"message": second}, headers=headers)
    assert c.status_code == 422 and c.json()["code"] == "ceremony_invalid"
    assert len(open_user.sdk.wallets.list()) == 1
