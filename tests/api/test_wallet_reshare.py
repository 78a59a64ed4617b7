"""WaaS reshare with delegated access: 2-of-2 → 2-of-3 (share delivered to a real webhook) → revoke.

Each test runs on SQLite and PostgreSQL (``wallet_runtime``). The webhook is a real HTTP server on
a loopback port; what it receives is HMAC-checked and opened with the developer's RSA key, and the
delegate share then signs together with the server's share (Lagrange + 2P-ECDSA, in-process).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from actionmfa.errors import (
    DelegatedAccessDisabledError,
    InvalidRequestError,
    MfaRequiredError,
    UnauthorizedError,
    WalletProofInvalidError,
    WalletReshareConflictError,
)
from actionmfa.sdk.delegated import DelegatedSigner
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.reshare import server_shamir_share
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.wallets import WalletRepo
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import ORDER
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from actionmfa.wallet.payloads import message_request
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser, make_wallet_user
from tests.unit.wallet.helpers import run_signing

shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


@dataclass
class Webhook:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            hook.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/delegation"
    yield hook
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def developer_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def more_paillier() -> list[PreparedPaillier]:
    return list(wallet_keys.server_keys()[1:9])


@pytest.fixture
def distinct_keys(wallet_runtime: Runtime, shared_paillier: PreparedPaillier,
                  more_paillier: list[PreparedPaillier]) -> None:
    """Every key the pool hands out in a test is new (a reshare refuses the wallet's current key;
    the pool may drop a key given back, so a short cycle could repeat one)."""
    keys = iter([shared_paillier, *more_paillier[:-1]])
    wallet_runtime.services.wallets.keys.use(lambda: next(keys, None) or PreparedPaillier.generate(
        2048, safe_primes=False))


def _settings(webhook: Webhook, key: rsa.RSAPrivateKey, *, gated: bool = False) -> dict[str, object]:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    security: dict[str, object] = {"delegatedAccess": {"enabled": True, "webhookUrl": webhook.url,
                                                       "publicKeyPem": pem}}
    if gated:
        security["mfa"] = {"enabled": False, "enrollment": "signup",
                           "actions": [{"action": "wallet.waas.reshare", "required": True}]}
    return {"security": security}


@dataclass
class Delegating:
    user: WalletUser
    secret: bytes


def _delegating_user(runtime: Runtime, client: TestClient, tmp: Path, webhook: Webhook,
                     key: rsa.RSAPrivateKey, *, gated: bool = False) -> Delegating:
    user = make_wallet_user(runtime, client, tmp / "shares", _settings(webhook, key, gated=gated))
    admin = {"authorization": f"Bearer {user.env.admin_token}"}
    r = client.post(f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/secret", headers=admin)
    assert r.status_code == 200, r.text
    secret = r.json()["hmacSecret"].encode()
    ring = wallet_keys.delegate_ring()
    r = client.post(f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/ringPedersen", headers=admin,
                    json=ring.to_json())
    assert r.status_code == 200 and r.json()["digest"] == ring.digest().hex(), r.text
    return Delegating(user, secret)


@pytest.fixture
def delegating(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
               developer_key: rsa.RSAPrivateKey, distinct_keys: None) -> Delegating:
    return _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key)


def _server_shamir(runtime: Runtime, env_id: str, wallet_id: str) -> int:
    with runtime.db.read() as uow:
        row = WalletRepo(uow.conn).wallet_by_id(env_id, wallet_id)
    assert row is not None
    return server_shamir_share(runtime.services.wallets.vault.open_share(row).x1)


def _server_n(runtime: Runtime, env_id: str, wallet_id: str) -> int:
    with runtime.db.read() as uow:
        row = WalletRepo(uow.conn).wallet_by_id(env_id, wallet_id)
    assert row is not None
    return runtime.services.wallets.vault.open_share(row).paillier.n


def _pair_sign(server_shamir: int, delegate: rs.DelegateShare, prepared: PreparedPaillier, text: str) -> str:
    server_pair, client_pair = wallet_keys.pair_setup(server_shamir, delegate, prepared)
    sig = run_signing(server_pair, client_pair, message_request(text))
    return str(Account.recover_message(encode_defunct(text=text), vrs=(sig.v + 27, sig.r, sig.s)))


def _at(runtime: Runtime) -> float:
    """The test clock's now, as the delegate's receive time (deliveries are stamped with it)."""
    return runtime.clock.now().timestamp()


def _recovers(wallet_address: str, text: str, signature: bytes) -> bool:
    return bool(Account.recover_message(encode_defunct(text=text), signature=signature) == wallet_address)


def _audit_events(runtime: Runtime, env_id: str) -> list[str]:
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log.c.event).where(audit_log.c.environment_id == env_id)).all()
    return [r.event for r in rows]


def test_delegate_then_revoke(delegating: Delegating, wallet_runtime: Runtime, app_client: TestClient,
                              webhook: Webhook, developer_key: rsa.RSAPrivateKey,
                              more_paillier: list[PreparedPaillier]) -> None:
    user = delegating.user
    wallet = user.sdk.wallets.create()
    key_before = wallet.export_private_key()

    report = wallet.reshare(delegate=True)

    assert report == {"event": "wallet.delegation.created", "delivered": True}
    assert wallet.key_version == 2 and wallet.threshold_scheme == "TWO_OF_THREE"
    listed = user.sdk.wallets.list()[0]
    assert listed.address == wallet.address and listed.threshold_scheme == "TWO_OF_THREE"
    # The webhook got one signed, encrypted delivery; the developer opens and Feldman-checks it.
    assert len(webhook.received) == 1
    headers, body = webhook.received[0]
    assert dg.verify_body(delegating.secret, body, headers[dg.SIGNATURE_HEADER])
    assert not dg.verify_body(b"another secret", body, headers[dg.SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["eventName"] == "wallet.delegation.created" and event["data"]["walletId"] == wallet.id
    assert event["data"]["address"] == wallet.address
    assert set(event["data"]["encryptedDelegatedShare"]) == {"alg", "iv", "ct", "tag", "ek"}
    delegate = dg.open_delegation(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                  now=_at(wallet_runtime)).share
    with pytest.raises(WalletProofInvalidError):
        dg.open_delegation(body, {**headers, "webhook-signature": "v1," + "A" * 44}, hmac_secret=delegating.secret,
                           private_key=developer_key, now=_at(wallet_runtime))
    # Delegate + server sign for the unchanged address (new Paillier key for that pair).
    server_before_revoke = _server_shamir(wallet_runtime, user.env.id, wallet.id)
    assert _pair_sign(server_before_revoke, delegate, more_paillier[-1], "agent") == wallet.address
    # The user keeps signing through the normal HTTP ceremony, and the key itself is unchanged.
    assert _recovers(wallet.address, "user after reshare", wallet.sign_message("user after reshare").signature)
    assert wallet.export_private_key() == key_before
    assert "wallet.delegation_delivered" in _audit_events(wallet_runtime, user.env.id)
    # Over HTTP: the developer's server signs with the delegated share and the wallet API key.
    access = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret,
                                      private_key=developer_key, ring=wallet_keys.delegate_ring().params,
                                      now=_at(wallet_runtime))
    assert access.share.share == delegate.share and access.wallet_id == wallet.id
    assert access.pair_share.paillier.n != _server_n(wallet_runtime, user.env.id, wallet.id)
    signer = DelegatedSigner(user.env.id, access, http_client=app_client)
    assert _recovers(wallet.address, "agent over http", signer.sign_message("agent over http").signature)
    forged = DelegatedSigner(user.env.id, dataclasses.replace(access, api_key="dak_forged"), http_client=app_client)
    with pytest.raises(UnauthorizedError):
        forged.sign_message("nope")
    assert "wallet.delegated_signed" in _audit_events(wallet_runtime, user.env.id)

    r = app_client.post(user.env.sdk(f"/waas/{wallet.id}/refresh"), json={}, headers=user.signed_in.headers)
    assert r.status_code == 409 and r.json()["code"] == "wallet_reshare_conflict"  # not refreshed additively
    with pytest.raises(WalletReshareConflictError):  # and not delegated twice
        user.sdk.request("POST", f"/waas/{wallet.id}/reshare", json={
            "oldThresholdSignatureScheme": "TWO_OF_TWO", "newThresholdSignatureScheme": "TWO_OF_THREE",
            "delegateToProjectEnvironment": True})

    report = wallet.reshare(revoke_delegation=True)

    assert report == {"event": "wallet.delegation.revoked", "delivered": True}
    assert wallet.key_version == 3 and wallet.threshold_scheme == "TWO_OF_TWO"
    headers, body = webhook.received[1]
    assert dg.verify_body(delegating.secret, body, headers[dg.SIGNATURE_HEADER])
    revoked = json.loads(body)
    assert revoked["eventName"] == "wallet.delegation.revoked" and revoked["data"]["walletId"] == wallet.id
    assert "encryptedDelegatedShare" not in revoked["data"]
    # Stale-share mix: the old delegate share does not combine with the new server share.
    server_after = _server_shamir(wallet_runtime, user.env.id, wallet.id)
    assert server_after != server_before_revoke
    with pytest.raises(WalletProofInvalidError):
        wallet_keys.pair_setup(server_after, delegate, more_paillier[-1])
    with pytest.raises(UnauthorizedError):  # the wallet API key died with the delegation
        signer.sign_message("after revoke")
    # The user still signs, same address and key.
    assert _recovers(wallet.address, "after revoke", wallet.sign_message("after revoke").signature)
    assert user.sdk.wallets.list()[0].address == wallet.address
    assert wallet.export_private_key() == key_before


def test_reshare_gate_refuses_without_token_and_changes_nothing(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, distinct_keys: None,
) -> None:
    d = _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key, gated=True)
    wallet = d.user.sdk.wallets.create()
    body = {"oldThresholdSignatureScheme": "TWO_OF_TWO", "newThresholdSignatureScheme": "TWO_OF_THREE",
            "delegateToProjectEnvironment": True}
    r = app_client.post(d.user.env.sdk(f"/waas/{wallet.id}/reshare"), json=body, headers=d.user.signed_in.headers)
    assert r.status_code == 403 and r.json() == {"error": "MFA required", "code": "mfa_required"}
    with pytest.raises(MfaRequiredError):
        wallet.reshare(delegate=True)
    with wallet_runtime.db.read() as uow:
        q = select(func.count()).select_from(waas_ceremonies).where(waas_ceremonies.c.kind == "reshare")
        assert uow.conn.execute(q).scalar_one() == 0
        row = WalletRepo(uow.conn).wallet_by_id(d.user.env.id, wallet.id)
    assert row is not None and row.key_version == 1 and row.threshold_scheme == "TWO_OF_TWO"
    assert webhook.received == []
    # With a token (applied automatically) the same call goes through.
    d.user.sdk.tokens.set_mfa_token(d.user.mint_mfa_token(wallet_runtime), single_use=True)
    assert wallet.reshare(delegate=True)["delivered"] is True
    assert _recovers(wallet.address, "gated", wallet.sign_message("gated").signature)


def test_reshare_refused_without_configuration_or_with_a_wrong_transition(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, distinct_keys: None
) -> None:
    user = make_wallet_user(wallet_runtime, app_client, tmp_path / "shares")
    wallet = user.sdk.wallets.create()
    with pytest.raises(DelegatedAccessDisabledError):
        wallet.reshare(delegate=True)
    with pytest.raises(WalletReshareConflictError):  # not delegated: nothing to revoke
        wallet.reshare(revoke_delegation=True)
    with pytest.raises(InvalidRequestError):
        user.sdk.request("POST", f"/waas/{wallet.id}/reshare", json={
            "oldThresholdSignatureScheme": "TWO_OF_TWO", "newThresholdSignatureScheme": "THREE_OF_FIVE"})
    assert user.sdk.wallets.list()[0].key_version == 1


def test_public_settings_hide_the_webhook(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path,
                                          webhook: Webhook, developer_key: rsa.RSAPrivateKey) -> None:
    d = _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key)
    shown = app_client.get(d.user.env.sdk("/settings")).json()
    assert shown["security"]["delegatedAccess"] == {"enabled": True}
    assert webhook.url not in json.dumps(shown)


def test_key_rotation_reencrypts_the_delegation_secret(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey,
) -> None:
    import secrets

    from actionmfa.crypto import Keyring
    from actionmfa.services.wallets.admin import rotate_wallet_secrets

    d = _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key)
    old = wallet_runtime.keyring
    new = Keyring(keys={**old.keys, "k-new": secrets.token_bytes(32)}, active_key_id="k-new", hash_key=old.hash_key)
    with wallet_runtime.db.write() as uow:
        assert rotate_wallet_secrets(uow, new) >= 1
        assert rotate_wallet_secrets(uow, new) == 0
        blob = WalletRepo(uow.conn).delegation_secret(d.user.env.id)
    assert blob is not None and new.key_id_of(blob) == "k-new"
    assert new.decrypt(blob, aad=f"waas-delegation-secret:{d.user.env.id}") == d.secret


def test_invalid_delegated_signature_locks_the_wallet_for_everyone(
    delegating: Delegating, app_client: TestClient, webhook: Webhook, developer_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch, wallet_runtime: Runtime) -> None:
    from actionmfa.errors import (
        CeremonyInvalidError,
        WalletLockedError,
        WalletProofInvalidError,
        WalletSignatureInvalidError,
    )
    from actionmfa.wallet import ecdsa2p as p2
    from actionmfa.wallet.zk.piaffg import AffgProof

    wallet = delegating.user.sdk.wallets.create()
    wallet.reshare(delegate=True)
    headers, body = webhook.received[0]
    access = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret,
                                      private_key=developer_key, ring=wallet_keys.delegate_ring().params,
                                      now=_at(wallet_runtime))
    signer = DelegatedSigner(delegating.user.env.id, access, http_client=app_client)
    request = message_request("probe")
    opened = signer._post("", request.to_json())
    ceremony_id = str(opened["ceremonyId"])
    sid = p2.sign_session_id(wallet.id, ceremony_id, request.digest(), key_version=int(opened["keyVersion"]))
    nonce_msg, _ = p2.client_sign_respond(sid, request.digest(), p2.SignCommit.from_json(opened["message"]))
    with pytest.raises(CeremonyInvalidError):  # the payload is bound to the ceremony
        signer._post(f"/{ceremony_id}/nonce", {**message_request("other").to_json(), "message": nonce_msg.to_json()})
    signer._post(f"/{ceremony_id}/nonce", {**request.to_json(), "message": nonce_msg.to_json()})
    bogus = p2.SignPartial(access.pair_share.paillier.encrypt(12345), None)
    with pytest.raises(WalletProofInvalidError):  # no Πaff-g: refused before any decryption
        signer._post(f"/{ceremony_id}/complete", {**request.to_json(), "message": bogus.to_json()})
    # With the proof check disabled (a simulated bug) the lock still catches the probe.
    monkeypatch.setattr(AffgProof, "verify", lambda self, *a, **k: None)
    opened = signer._post("", request.to_json())
    ceremony_id = str(opened["ceremonyId"])
    sid = p2.sign_session_id(wallet.id, ceremony_id, request.digest(), key_version=int(opened["keyVersion"]))
    nonce_msg, state = p2.client_sign_respond(sid, request.digest(), p2.SignCommit.from_json(opened["message"]))
    revealed = signer._post(f"/{ceremony_id}/nonce", {**request.to_json(), "message": nonce_msg.to_json()})
    honest = p2.client_sign_finish(access.pair_share, state, p2.SignReveal.from_json(revealed["message"]))
    pk = access.pair_share.paillier
    bogus = p2.SignPartial(pk.add(honest.ciphertext, pk.encrypt(12345)), honest.proof)
    with pytest.raises(WalletSignatureInvalidError):
        signer._post(f"/{ceremony_id}/complete", {**request.to_json(), "message": bogus.to_json()})
    monkeypatch.undo()
    with pytest.raises(WalletLockedError):
        wallet.sign_message("user after a failed delegated signature")
    with pytest.raises(WalletLockedError):
        signer.sign_message("delegate again")


def test_delegated_signing_obeys_the_operators_off_switch(
    delegating: Delegating, app_client: TestClient, webhook: Webhook, developer_key: rsa.RSAPrivateKey,
    wallet_runtime: Runtime,
) -> None:
    from actionmfa.wallet import ecdsa2p as p2

    user = delegating.user
    wallet = user.sdk.wallets.create()
    wallet.reshare(delegate=True)
    headers, body = webhook.received[0]
    access = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret,
                                      private_key=developer_key, ring=wallet_keys.delegate_ring().params,
                                      now=_at(wallet_runtime))
    signer = DelegatedSigner(user.env.id, access, http_client=app_client)
    request = message_request("opened before the switch")
    opened = signer._post("", request.to_json())  # a ceremony open when the operator switches off

    def switch(enabled: bool) -> None:
        r = app_client.put(f"/api/v0/environments/{user.env.id}",
                           json={"settings": {"security": {"delegatedAccess": {"enabled": enabled}}}},
                           headers={"authorization": f"Bearer {user.env.admin_token}"})
        assert r.status_code == 200, r.text

    switch(False)
    url = f"/api/v0/environments/{user.env.id}/waas/{wallet.id}/delegatedAccess/signMessage"
    r = app_client.post(url, json=message_request("off").to_json(),
                        headers={"authorization": f"Bearer {access.api_key}"})
    assert r.status_code == 409 and r.json()["code"] == "delegated_access_disabled"
    with pytest.raises(DelegatedAccessDisabledError):
        signer.sign_message("off")
    sid = p2.sign_session_id(wallet.id, str(opened["ceremonyId"]), request.digest(),
                             key_version=int(opened["keyVersion"]))
    nonce_msg, _ = p2.client_sign_respond(sid, request.digest(), p2.SignCommit.from_json(opened["message"]))
    r = app_client.post(f"{url}/{opened['ceremonyId']}/nonce",
                        json={**request.to_json(), "message": nonce_msg.to_json()},
                        headers={"authorization": f"Bearer {access.api_key}"})
    assert r.status_code == 409 and r.json()["code"] == "delegated_access_disabled"
    r = app_client.post(url, json=message_request("off").to_json(), headers={"authorization": "Bearer dak_forged"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"  # the switch is told to key holders only
    # The user's own signing is not delegated access; switching back on resumes the delegate.
    assert _recovers(wallet.address, "user", wallet.sign_message("user").signature)
    switch(True)
    assert _recovers(wallet.address, "back on", signer.sign_message("back on").signature)


def test_reshare_with_an_offset_ckey_is_refused(delegating: Delegating, webhook: Webhook,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: a server sending ckey' = Enc_N'(x1' + 2^900) in a reshare is refused by the SDK
    before it confirms (or ever signs with the new share); nothing is delivered to the delegate."""
    from actionmfa.errors import WalletProofInvalidError
    from actionmfa.wallet import reshare as wallet_reshare
    from tests.wallet_attacks import shifted_encrypt_share

    wallet = delegating.user.sdk.wallets.create()
    monkeypatch.setattr(wallet_reshare, "encrypt_share", shifted_encrypt_share(2**900))
    with pytest.raises(WalletProofInvalidError):
        wallet.reshare(delegate=True)
    assert wallet.key_version == 1 and webhook.received == []


def test_delegate_refuses_a_pair_setup_with_an_offset_ckey(delegating: Delegating, webhook: Webhook,
                                                           wallet_runtime: Runtime,
                                                           developer_key: rsa.RSAPrivateKey,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9 item 3 over the real webhook: a server whose delegate pair set-up carries
    ckey = Enc_N(x1_pair + 2^900) is refused by ``open_delegated_access`` (Πlog* against the
    delegate's registered parameters) — the delegate never gets a share to sign with, so no c3."""
    from actionmfa.wallet import reshare as wallet_reshare
    from tests.wallet_attacks import shifted_encrypt_share

    wallet = delegating.user.sdk.wallets.create()
    honest = wallet_reshare.encrypt_share
    cheat = shifted_encrypt_share(2**900)
    # Only the pair set-up cheats (the user's own ckey' is honest, so the reshare completes).
    monkeypatch.setattr(wallet_reshare, "encrypt_share", lambda prepared, ring, sid, x1, q1=None: (
        cheat if ring == wallet_keys.delegate_ring().params else honest)(prepared, ring, sid, x1, q1))
    wallet.reshare(delegate=True)
    headers, body = webhook.received[-1]
    with pytest.raises(WalletProofInvalidError, match="Encrypted-share proof invalid"):
        dg.open_delegated_access(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                 ring=wallet_keys.delegate_ring().params, now=_at(wallet_runtime))


def test_delegation_needs_registered_ring_parameters_with_a_valid_proof(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, distinct_keys: None,
) -> None:
    user = make_wallet_user(wallet_runtime, app_client, tmp_path / "shares", _settings(webhook, developer_key))
    admin = {"authorization": f"Bearer {user.env.admin_token}"}
    assert app_client.post(f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/secret",
                           headers=admin).status_code == 200
    wallet = user.sdk.wallets.create()
    with pytest.raises(DelegatedAccessDisabledError, match="ring-Pedersen"):
        wallet.reshare(delegate=True)
    ring = wallet_keys.delegate_ring().to_json()
    forged = {**ring, "params": {**ring["params"], "s": wallet_keys.client_ring(0).to_json()["params"]["s"]}}
    url = f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/ringPedersen"
    r = app_client.post(url, headers=admin, json=forged)
    assert r.status_code == 422 and r.json()["code"] == "wallet_proof_invalid", r.text
    r = app_client.post(url, json=ring)
    assert r.status_code == 401, r.text
    assert "wallet.delegate_ring_registered" not in _audit_events(wallet_runtime, user.env.id)
    assert wallet.key_version == 1 and webhook.received == []


def test_a_replayed_delegation_delivery_is_refused(delegating: Delegating, webhook: Webhook, wallet_runtime: Runtime,
                                                   developer_key: rsa.RSAPrivateKey) -> None:
    """Red-team finding: ``open_delegation`` / ``open_delegated_access`` accepted a captured delivery
    at any later time (the body HMAC has no timestamp). Now the Standard Webhooks timestamp must be
    within the replay window (the SDK's ``verify_webhook``), and the body must be the event it is
    signed for."""
    delegating.user.sdk.wallets.create().reshare(delegate=True)
    headers, body = webhook.received[-1]
    ring = wallet_keys.delegate_ring().params
    sent = int(headers["webhook-timestamp"])
    fresh = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                     ring=ring, now=sent + 60)
    assert fresh.event_id == headers["webhook-id"] and fresh.share_version == 2
    for late in (sent + 301, sent + 86400, sent - 301):
        with pytest.raises(WalletProofInvalidError, match="replay window"):
            dg.open_delegated_access(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                     ring=ring, now=late)
        with pytest.raises(WalletProofInvalidError, match="replay window"):
            dg.open_delegation(body, headers, hmac_secret=delegating.secret, private_key=developer_key, now=late)
    # The old body-only signature alone (no timestamp) is no longer accepted.
    legacy_only = {dg.SIGNATURE_HEADER: headers[dg.SIGNATURE_HEADER]}
    with pytest.raises(WalletProofInvalidError):
        dg.open_delegation(body, legacy_only, hmac_secret=delegating.secret, private_key=developer_key,
                           now=_at(wallet_runtime))
    # A re-timestamped header with the old signature does not verify either.
    with pytest.raises(WalletProofInvalidError, match="signature"):
        dg.open_delegation(body, {**headers, "webhook-timestamp": str(sent + 1)},
                           hmac_secret=delegating.secret, private_key=developer_key, now=_at(wallet_runtime))


def test_refresh_of_a_delegated_wallet_redeals_every_share(
    delegating: Delegating, wallet_runtime: Runtime, app_client: TestClient, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, more_paillier: list[PreparedPaillier],
) -> None:
    """Issue 13 item 3: a 2-of-3 wallet refreshed (gate wallet.waas.refresh) keeps its address and
    key; the user and the delegate (from the new ``wallet.delegation.refreshed`` delivery, proven
    pair set-up) sign with the server afterwards; the old delegate share, its API key and the old
    user share are useless."""
    user = delegating.user
    wallet = user.sdk.wallets.create()
    key_before = wallet.export_private_key()
    wallet.reshare(delegate=True)
    headers, body = webhook.received[-1]
    ring = wallet_keys.delegate_ring().params
    old = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                   ring=ring, now=_at(wallet_runtime))
    old_signer = DelegatedSigner(user.env.id, old, http_client=app_client)
    assert _recovers(wallet.address, "before", old_signer.sign_message("before").signature)
    old_user = user.sdk.wallets.load_share(wallet.id)
    old_server = _server_shamir(wallet_runtime, user.env.id, wallet.id)
    assert old_user is not None

    wallet.refresh()

    assert wallet.key_version == 3 and wallet.threshold_scheme == "TWO_OF_THREE"
    assert user.sdk.wallets.list()[0].address == wallet.address
    headers, body = webhook.received[-1]
    assert json.loads(body)["eventName"] == "wallet.delegation.refreshed"
    new = dg.open_delegated_access(body, headers, hmac_secret=delegating.secret, private_key=developer_key,
                                   ring=ring, now=_at(wallet_runtime))
    assert new.share_version == 3 and new.share.share != old.share.share and new.api_key != old.api_key
    assert new.pair_share.paillier.n != old.pair_share.paillier.n
    signer = DelegatedSigner(user.env.id, new, http_client=app_client)
    assert _recovers(wallet.address, "delegate after refresh", signer.sign_message("delegate after refresh").signature)
    assert _recovers(wallet.address, "user after refresh", wallet.sign_message("user after refresh").signature)
    assert wallet.export_private_key() == key_before
    events = _audit_events(wallet_runtime, user.env.id)
    assert events.count("wallet.refresh_opened") == 1 and events.count("wallet.refreshed") == 1
    # The old delegate credentials are dead: its API key is refused, its share combines with no current one.
    with pytest.raises(UnauthorizedError):
        old_signer.sign_message("old delegate")
    new_server = _server_shamir(wallet_runtime, user.env.id, wallet.id)
    assert new_server != old_server
    with pytest.raises(WalletProofInvalidError, match="add up"):
        wallet_keys.pair_setup(new_server, old.share, more_paillier[-1])
    # …and the old user share neither: it no longer adds up with the server's current share.
    new_user = user.sdk.wallets.load_share(wallet.id)
    assert new_user is not None and new_user.x2 != old_user.x2
    key = int(key_before, 16)
    server_x1 = rs.additive_share(rs.SERVER_INDEX, new_server, rs.USER_PAIR)
    assert (server_x1 + new_user.x2) % ORDER == key and (server_x1 + old_user.x2) % ORDER != key
    old_user_shamir = rs.shamir_from_additive(rs.USER_INDEX, old_user.x2, rs.USER_PAIR)
    assert (rs.additive_share(1, old_user_shamir, (1, 3)) + rs.additive_share(3, new.share.share, (1, 3))) % ORDER \
        != key  # nor with the delegate's new share


def test_refresh_of_a_delegated_wallet_is_gated_and_refused_while_a_revocation_is_pending(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, distinct_keys: None,
) -> None:
    d = _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key)
    wallet = d.user.sdk.wallets.create()
    wallet.reshare(delegate=True)
    delivered = len(webhook.received)
    admin = {"authorization": f"Bearer {d.user.env.admin_token}"}

    def require_mfa_for(actions: list[str]) -> None:
        mfa = {"enabled": False, "enrollment": "signup", "actions": [{"action": a, "required": True} for a in actions]}
        r = app_client.put(f"/api/v0/environments/{d.user.env.id}", headers=admin,
                           json={"settings": {"security": {"mfa": mfa}}})
        assert r.status_code == 200, r.text

    require_mfa_for(["wallet.waas.refresh"])  # the refresh gate runs, not the reshare gate
    with pytest.raises(MfaRequiredError):
        wallet.refresh()
    require_mfa_for(["wallet.waas.reshare"])
    wallet.refresh()
    assert wallet.key_version == 3 and len(webhook.received) == delivered + 1
    require_mfa_for([])
    r = app_client.post(f"/api/v0/environments/{d.user.env.id}/waas/delegation/revoke", json={},
                        headers={"authorization": f"Bearer {d.user.env.admin_token}"})
    assert r.status_code == 200, r.text
    with pytest.raises(WalletReshareConflictError, match="revocation pending"):
        wallet.refresh()  # re-dealing would hand the revoked delegate a fresh share
    assert wallet.key_version == 3 and len(webhook.received) == delivered + 1
