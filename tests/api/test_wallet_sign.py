"""Two-party signing over HTTP: SDK (party P2) against the app (party P1)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from fastapi.testclient import TestClient
from sqlalchemy import select

from actionmfa.errors import CeremonyInvalidError, WalletLockedError, WalletSignatureInvalidError
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.admin import unlock_wallet
from actionmfa.store.mfa_tables import audit_log
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from actionmfa.wallet.payloads import message_request
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser
from tests.unit.wallet.helpers import AUTHORIZATION, TX_1559, TYPED_DATA

# fixtures shared by the wallet API tests
open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_create_and_list(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create()
    assert wallet.address.startswith("0x") and wallet.address != wallet.address.lower()  # EIP-55
    listed = open_user.sdk.wallets.list()
    assert [w.address for w in listed] == [wallet.address]
    assert not listed[0].locked


def test_a_valid_signature_is_the_wallets_last_signature(open_user: WalletUser, wallet_runtime: Runtime) -> None:
    """What the dashboard shows as "last signature" (issue 13.5), set in the signing transaction."""
    wallet = open_user.sdk.wallets.create()
    with wallet_runtime.db.read() as uow:
        assert uow.wallets.wallet_by_id(open_user.env.id, wallet.id).last_signed_at is None  # type: ignore[union-attr]
    wallet.sign_message("hello")
    with wallet_runtime.db.read() as uow:
        row = uow.wallets.wallet_by_id(open_user.env.id, wallet.id)
    assert row is not None and row.last_signed_at == wallet_runtime.clock.now()


@pytest.mark.sqlite_suffices  # the payload encodings; the rounds' storage is covered by the other tests
def test_every_payload_kind_recovers_with_eth_account(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create()
    address = wallet.address

    signed = wallet.sign_message("hello from two parties")
    assert Account.recover_message(encode_defunct(text="hello from two parties"), signature=signed.signature) == address
    signed_bytes = wallet.sign_message(b"\x01\x02")
    assert Account.recover_message(encode_defunct(primitive=b"\x01\x02"), signature=signed_bytes.signature) == address

    typed = wallet.sign_typed_data(TYPED_DATA)
    assert Account.recover_message(encode_typed_data(full_message=TYPED_DATA), signature=typed.signature) == address

    tx = wallet.sign_transaction(TX_1559)
    assert tx.raw_transaction[:1] == b"\x02"
    assert Account.recover_transaction(tx.raw_transaction) == address

    auth = wallet.sign_authorization(AUTHORIZATION)
    assert auth.authority == bytes.fromhex(address[2:])
    type4 = wallet.sign_transaction({**TX_1559, "type": 4, "gas": 60000, "to": address, "value": 0,
                                     "authorizationList": [auth]})
    assert type4.raw_transaction[:1] == b"\x04"
    assert Account.recover_transaction(type4.raw_transaction) == address


def test_wallet_reloaded_from_share_file(open_user: WalletUser) -> None:
    created = open_user.sdk.wallets.create()
    again = open_user.sdk.wallets.get(created.id)
    signed = again.sign_message("from disk")
    assert Account.recover_message(encode_defunct(text="from disk"), signature=signed.signature) == created.address


def _open(c: TestClient, user: WalletUser, wallet_id: str, body: dict[str, Any]) -> Any:
    return c.post(user.env.sdk(f"/waas/{wallet_id}/signMessage"), json=body, headers=user.signed_in.headers)


def _manual_rounds(app_client: TestClient, user: WalletUser) -> tuple[str, p2.ClientKeyShare]:
    wallet = user.sdk.wallets.create()
    share = user.sdk.wallets.load_share(wallet.id)
    assert share is not None
    return wallet.id, share


def test_payload_changed_between_rounds_refused(app_client: TestClient, open_user: WalletUser) -> None:
    wallet_id, _ = _manual_rounds(app_client, open_user)
    good = message_request("pay Alice 1 ETH")
    opened = _open(app_client, open_user, wallet_id, good.to_json()).json()
    digest = good.digest()
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, _ = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    evil = message_request("pay Mallory 100 ETH").to_json()
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}/nonce"),
                        json={**evil, "message": nonce.to_json()}, headers=open_user.signed_in.headers)
    assert r.status_code == 422
    assert r.json()["code"] == CeremonyInvalidError.code


def test_expired_ceremony_refused(app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet_id, _ = _manual_rounds(app_client, open_user)
    request = message_request("late")
    opened = _open(app_client, open_user, wallet_id, request.to_json()).json()
    digest = request.digest()
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, _ = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    wallet_runtime.clock.advance(61)  # type: ignore[attr-defined]
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}/nonce"),
                        json={**request.to_json(), "message": nonce.to_json()}, headers=open_user.signed_in.headers)
    assert r.status_code == 422
    assert r.json()["code"] == CeremonyInvalidError.code


def test_round_cannot_be_replayed(app_client: TestClient, open_user: WalletUser) -> None:
    wallet_id, _ = _manual_rounds(app_client, open_user)
    request = message_request("once")
    opened = _open(app_client, open_user, wallet_id, request.to_json()).json()
    digest = request.digest()
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, _ = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    url = open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}/nonce")
    body = {**request.to_json(), "message": nonce.to_json()}
    assert app_client.post(url, json=body, headers=open_user.signed_in.headers).status_code == 200
    again = app_client.post(url, json=body, headers=open_user.signed_in.headers)
    assert again.status_code == 422 and again.json()["code"] == "ceremony_invalid"


def _tampered_complete(app_client: TestClient, open_user: WalletUser, wallet_id: str,
                       share: p2.ClientKeyShare) -> Any:
    """Run a ceremony to its last round and send c3 ⊕ Enc(2^255) with the honest proof (the abort
    attack's probe)."""
    request = message_request("tamper")
    opened = _open(app_client, open_user, wallet_id, request.to_json()).json()
    digest = request.digest()
    base = open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}")
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, state = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    revealed = app_client.post(f"{base}/nonce", json={**request.to_json(), "message": nonce.to_json()},
                               headers=open_user.signed_in.headers).json()
    partial = p2.client_sign_finish(share, state, p2.SignReveal.from_json(revealed["message"]))
    pk = share.paillier
    tampered = p2.SignPartial(pk.add(partial.ciphertext, pk.encrypt(1 << 255)), partial.proof)
    return app_client.post(f"{base}/complete", json={**request.to_json(), "message": tampered.to_json()},
                           headers=open_user.signed_in.headers)


def test_malformed_c3_is_refused_by_its_proof_without_a_decryption(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 4: before, the server decrypted the probe, the signature failed, and the failure
    told the client one bit about x1 (the lock then bought ~log2(n+1) bits). Now Πaff-g refuses it
    and the server never decrypts: the count of decryptions stays 0, the wallet is not locked."""
    from actionmfa.wallet.paillier import PaillierSecretKey

    wallet_id, share = _manual_rounds(app_client, open_user)
    decrypts: list[int] = []
    original = PaillierSecretKey.decrypt

    def counting(self: PaillierSecretKey, ciphertext: int) -> int:
        decrypts.append(ciphertext)
        return original(self, ciphertext)

    monkeypatch.setattr(PaillierSecretKey, "decrypt", counting)
    r = _tampered_complete(app_client, open_user, wallet_id, share)
    assert r.status_code == 422 and r.json()["code"] == "wallet_proof_invalid"
    assert decrypts == []
    assert not open_user.sdk.wallets.list()[0].locked
    with wallet_runtime.db.read() as uow:
        events = [row.event for row in uow.conn.execute(select(audit_log.c.event)).all()]
    assert "wallet.sign_proof_invalid" in events and "wallet.signature_invalid" not in events
    signed = open_user.sdk.wallets.get(wallet_id).sign_message("honest")  # one decryption, a valid signature
    assert len(decrypts) == 1 and signed.signature


def test_a_c3_without_its_proof_is_refused(app_client: TestClient, open_user: WalletUser) -> None:
    wallet_id, share = _manual_rounds(app_client, open_user)
    request = message_request("no proof")
    opened = _open(app_client, open_user, wallet_id, request.to_json()).json()
    base = open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}")
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], request.digest(), key_version=1)
    nonce, state = p2.client_sign_respond(sid, request.digest(), p2.SignCommit.from_json(opened["message"]))
    revealed = app_client.post(f"{base}/nonce", json={**request.to_json(), "message": nonce.to_json()},
                               headers=open_user.signed_in.headers).json()
    partial = p2.client_sign_finish(share, state, p2.SignReveal.from_json(revealed["message"]))
    r = app_client.post(f"{base}/complete", json={**request.to_json(), "message": {"c": partial.to_json()["c"]}},
                        headers=open_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "wallet_proof_invalid"


def test_invalid_signature_still_locks_wallet_as_defence_in_depth(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the proof check ever let a bad c3 through (simulated here: verification disabled), the
    signature check and the lock still stop the abort attack (CVE-2023-33242)."""
    from actionmfa.wallet.zk.piaffg import AffgProof

    wallet_id, share = _manual_rounds(app_client, open_user)
    monkeypatch.setattr(AffgProof, "verify", lambda self, *a, **k: None)
    r = _tampered_complete(app_client, open_user, wallet_id, share)
    monkeypatch.undo()
    assert r.status_code == 422
    assert r.json()["code"] == WalletSignatureInvalidError.code
    request = message_request("tamper")

    # Locked: a new ceremony is refused, even with honest messages.
    again = _open(app_client, open_user, wallet_id, request.to_json())
    assert again.status_code == 423 and again.json()["code"] == WalletLockedError.code
    assert open_user.sdk.wallets.list()[0].locked
    with pytest.raises(WalletLockedError):
        open_user.sdk.wallets.get(wallet_id).sign_message("honest")
    with wallet_runtime.db.read() as uow:
        events = [r.event for r in uow.conn.execute(select(audit_log.c.event)).all()]
    assert "wallet.signature_invalid" in events

    # Operator recovery (docs/wallet-security.md): unlock, audited, signing works again.
    with wallet_runtime.db.write() as uow:
        assert unlock_wallet(uow, wallet_runtime.clock.now(), open_user.env.id, wallet_id, operator="test")
    signed = open_user.sdk.wallets.get(wallet_id).sign_message("after unlock")
    assert Account.recover_message(encode_defunct(text="after unlock"), signature=signed.signature) \
        == open_user.sdk.wallets.get(wallet_id).address


def test_ceremony_of_another_user_is_invisible(app_client: TestClient, open_user: WalletUser) -> None:
    wallet_id, _ = _manual_rounds(app_client, open_user)
    r = app_client.post(open_user.env.sdk("/waas/not-a-wallet/signMessage"), json=message_request("x").to_json(),
                        headers=open_user.signed_in.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    bad = _open(app_client, open_user, wallet_id, {"kind": "hash", "payload": "0x" + "00" * 32})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_user_share_never_sent_to_the_server(app_client: TestClient, open_user: WalletUser) -> None:
    bodies: list[bytes] = []
    app_client.event_hooks["request"].append(lambda request: bodies.append(request.read()))
    wallet = open_user.sdk.wallets.create()
    wallet.sign_message("x")
    wallet.sign_transaction(TX_1559)
    wallet.export_private_key()
    share = open_user.sdk.wallets.load_share(wallet.id)
    assert share is not None and bodies
    secrets_ = (format(share.x2, "064x"), format(share.x2, "x"), str(share.x2))
    assert not any(s.encode() in body for body in bodies for s in secrets_)


@pytest.mark.parametrize(
    ("round_name", "message"),
    [
        ("nonce", {"R2": "00", "proof": {"A": 5, "z": []}}),
        ("nonce", {"R2": "02" + "11" * 32}),
        ("complete", {"c": "!!!"}),
        ("complete", {"c": 7}),
    ],
)
def test_malformed_round_messages_get_a_typed_422(
    app_client: TestClient, open_user: WalletUser, round_name: str, message: dict[str, Any]
) -> None:
    wallet_id, _ = _manual_rounds(app_client, open_user)
    request = message_request("m")
    opened = _open(app_client, open_user, wallet_id, request.to_json()).json()
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet_id}/signMessage/{opened['ceremonyId']}/{round_name}"),
                        json={**request.to_json(), "message": message}, headers=open_user.signed_in.headers)
    assert r.status_code == 422
    assert r.json()["code"] in ("wallet_proof_invalid", "ceremony_invalid")
    assert not open_user.sdk.wallets.list()[0].locked


def test_open_key_generations_are_bounded(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, shared_paillier: PreparedPaillier
) -> None:
    # A pool deep enough that the key-pool fairness rule (a user with an unfinished creation only takes
    # keys above the reserve, services/wallets/fairness.py) does not answer first: this is the per-user cap.
    keys = wallet_runtime.services.wallets.keys
    keys.use(lambda: shared_paillier, size=8)
    for _ in range(8):
        keys.put(shared_paillier)
    url, headers = open_user.env.sdk("/waas/create"), open_user.signed_in.headers
    for _ in range(3):
        assert app_client.post(url, json={}, headers=headers).status_code == 200
    refused = app_client.post(url, json={}, headers=headers)
    assert refused.status_code == 429 and refused.json()["code"] == "wallet_limit_reached"
