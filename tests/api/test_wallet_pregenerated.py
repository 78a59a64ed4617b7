"""Pregenerated wallets (issue 13.1): made by the operator before the user exists, attached at the
identity's first sign-in, claimed by the SDK (stand-in share over HPKE, then a gated refresh that
erases it).

The main path runs on SQLite and PostgreSQL (``wallet_runtime``); the rest on SQLite. The server's
Paillier keys come from the shared fixed pool (tests/vectors/wallet_keys.json), the stand-in's
ring-Pedersen parameters are the second fixed client ring (the SDK uses the first).
"""

from __future__ import annotations

import contextlib
import itertools
import re
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import select

from actionmfa.errors import MfaRequiredError, WalletClaimRequiredError, WalletProofInvalidError
from actionmfa.sdk.client import Client
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets import pregenerated as pregen_module
from actionmfa.store.pregenerated_tables import waas_pregenerated
from actionmfa.store.wallet_tables import waas_wallets
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import ORDER, address_of, base_mul
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.test_stranger_lockout import Outbox
from tests.api.test_wallet_crash_safety import LossyHttp
from tests.conftest import EnvFixture, make_environment

shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client

OPEN_SETTINGS: dict[str, object] = {"security": {"mfa": {"enabled": False, "enrollment": "none"}}}
# the claim's refresh needs MFA, also from a user without a method (enrollment deferred to the action)
GATED_SETTINGS: dict[str, object] = {"security": {"mfa": {
    "enabled": False, "enrollment": "action",
    "actions": [{"action": a, "required": True} for a in ("wallet.waas.sign", "wallet.waas.refresh")]}}}


@pytest.fixture
def pregen_runtime(wallet_runtime: Runtime, shared_paillier: PreparedPaillier) -> Runtime:
    """The pool hands out the ten fixed keys in turn (a refresh refuses the wallet's own N)."""
    keys = itertools.cycle(wallet_keys.server_keys())
    wallet_runtime.services.wallets.keys.use(lambda: next(keys), size=1)
    wallet_runtime.services.wallets.pregenerated.use_ring(wallet_keys.client_ring(1))
    wallet_runtime.mailer = Outbox()
    return wallet_runtime


@pytest.fixture
def sqlite_only(pregen_runtime: Runtime) -> Runtime:
    """For tests marked ``sqlite_suffices``: the main path covers PostgreSQL."""
    return pregen_runtime


def pregenerate(app: TestClient, env: EnvFixture, *identities: str | dict[str, str],
                token: str | None = None) -> httpx.Response:
    items = [{"identifier": i, "type": "email"} if isinstance(i, str) else i for i in identities]
    return app.post(f"/api/v0/environments/{env.id}/waas/pregenerated", json={"identities": items},
                    headers={"Authorization": f"Bearer {token or env.admin_token}"})


def email_sign_in(runtime: Runtime, app: TestClient, env: EnvFixture, email: str,
                  share_dir: Path) -> tuple[Client, dict[str, Any]]:
    """The real email one-time-code sign-in route, then an SDK bound to that session."""
    r = app.post(env.sdk("/emailVerifications/create"), json={"email": email})
    assert r.status_code == 201, r.text
    code = cast(Outbox, runtime.mailer).code()
    r = app.post(env.sdk("/emailVerifications/signin"),
                 json={"verificationUUID": r.json()["verificationUUID"], "verificationToken": code})
    assert r.status_code == 200, r.text
    body = r.json()
    sdk = Client(env.id, http_client=app)
    sdk.session.jwt = body["jwt"]
    sdk.session.user = body["user"]
    sdk.wallets.configure(share_dir=share_dir, ring=wallet_keys.client_ring(), precompute=0)
    return sdk, body


def auth(sdk: Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {sdk.session.jwt}"}


def standin_of(runtime: Runtime, wallet_id: str) -> p2.ClientKeyShare:
    with runtime.db.read() as uow:
        row = uow.pregenerated.get(wallet_id)
    assert row is not None and row.standin_share is not None
    return runtime.services.wallets.pregenerated.open_standin(wallet_id, row.standin_share)


def audit_events(runtime: Runtime, env_id: str) -> list[str]:
    from actionmfa.store.mfa_tables import audit_log

    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log.c.event).where(audit_log.c.environment_id == env_id)
                                .order_by(audit_log.c.id)).all()
    return [r.event for r in rows]


def sign_status(app: TestClient, env: EnvFixture, sdk: Client, wallet_id: str) -> httpx.Response:
    return app.post(env.sdk(f"/waas/{wallet_id}/signMessage"), headers=auth(sdk),
                    json={"kind": "message", "payload": "hello"})


# --- the main path (SQLite and PostgreSQL) ------------------------------------------------------------


def test_created_before_the_user_exists_claimed_at_first_sign_in(
    pregen_runtime: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    env = make_environment(pregen_runtime, settings=OPEN_SETTINGS)
    r = pregenerate(app_client, env, "  Carol@Example.com ")
    assert r.status_code == 200, r.text
    made = r.json()["wallets"][0]
    assert made["identifier"] == "carol@example.com" and made["created"] is True
    assert made["status"] == "sealed" and made["userId"] is None and made["chain"] == "EVM"
    with pregen_runtime.db.read() as uow:
        assert uow.users.by_email(env.id, "carol@example.com") is None  # no user yet
    standin = standin_of(pregen_runtime, made["walletId"])
    assert address_of(standin.public_key) == made["address"]

    sdk, signed_in = email_sign_in(pregen_runtime, app_client, env, "carol@example.com", tmp_path / "shares")
    creds = [c for c in signed_in["user"]["verifiedCredentials"] if c["format"] == "blockchain"]
    assert [c["address"] for c in creds] == [made["address"]]
    assert creds[0]["embedded_wallet_id"] == made["walletId"] and creds[0]["chain"] == "eip155"
    assert creds[0]["walletProperties"]["pregenerated"] is True
    assert creds[0]["walletProperties"]["settings"]["shouldRefreshOnNextSignOn"] is True
    listed = app_client.get(env.sdk("/waas/wallets"), headers=auth(sdk)).json()["wallets"]
    assert [(w["id"], w["pregenerated"]) for w in listed] == [(made["walletId"], True)]
    refused = sign_status(app_client, env, sdk, made["walletId"])
    assert refused.status_code == 409 and refused.json()["code"] == "wallet_claim_required"

    wallets = sdk.wallets.list()  # finds the pregenerated wallet and claims it
    wallet = wallets[0]
    assert not wallet.pregenerated and wallet.key_version == 2
    signed = wallet.sign_message("mine now")
    assert Account.recover_message(encode_defunct(text="mine now"), signature=signed.signature) == made["address"]
    with pregen_runtime.db.read() as uow:
        row = uow.pregenerated.get(made["walletId"])
        assert row is not None and row.standin_share is None and row.erased_at is not None
        assert row.user_id == signed_in["user"]["id"]
    events = audit_events(pregen_runtime, env.id)
    for name in ("wallet.pregenerated", "wallet.pregenerated_attached", "wallet.claimed", "wallet.refreshed",
                 "wallet.standin_erased", "wallet.signed"):
        assert name in events
    assert events.index("wallet.standin_erased") < events.index("wallet.signed")
    again = pregenerate(app_client, env, "carol@example.com").json()["wallets"][0]
    assert (again["walletId"], again["created"], again["status"]) == (made["walletId"], False, "claimed")
    after = app_client.get(env.sdk("/users"), headers=auth(sdk)).json()
    mine = [c for c in after["verifiedCredentials"] if c["format"] == "blockchain"]
    assert [c["address"] for c in mine] == [made["address"]]
    assert mine[0]["walletProperties"]["pregenerated"] is False
    assert mine[0]["walletProperties"]["settings"]["shouldRefreshOnNextSignOn"] is False


# --- claim, refresh, the stand-in share afterwards ------------------------------------------------------


@pytest.mark.sqlite_suffices
def test_refresh_required_before_the_first_signature(
    sqlite_only: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    """The delivery alone gives the user a share, not a wallet: sign, export and reshare stay refused
    until the gated refresh commits; the gate asks for MFA (``wallet.waas.refresh``)."""
    runtime = sqlite_only
    env = make_environment(runtime, settings=GATED_SETTINGS)
    made = pregenerate(app_client, env, "dave@example.com").json()["wallets"][0]
    sdk, _ = email_sign_in(runtime, app_client, env, "dave@example.com", tmp_path / "shares")
    wallet = sdk.wallets.list()[0]  # the claim's refresh needs a token the client does not hold
    assert wallet.pregenerated is True
    assert sdk.wallets.load_share(made["walletId"]) is not None  # delivered and stored already
    for path, body in ((f"/waas/{made['walletId']}/signMessage", {"kind": "message", "payload": "x"}),
                       (f"/waas/{made['walletId']}/privateKey/export", {"recipientPublicKey": _recipient()}),
                       (f"/waas/{made['walletId']}/reshare", {"oldThresholdSignatureScheme": "TWO_OF_THREE",
                                                              "newThresholdSignatureScheme": "TWO_OF_TWO",
                                                              "revokeDelegation": True})):
        r = app_client.post(env.sdk(path), json=body, headers={**auth(sdk), "x-dyn-request-id": "req-1"})
        assert (r.status_code, r.json()["code"]) == (409, "wallet_claim_required"), (path, r.text)
    assert isinstance(wallet, type(sdk.wallets.list(claim=False)[0]))
    with pytest.raises(WalletClaimRequiredError):
        wallet.sign_message("not yet")  # type: ignore[union-attr]
    with pytest.raises(MfaRequiredError):
        sdk.wallets.claim(wallet, prompt=False)  # type: ignore[arg-type]

    prompted: list[bool] = []

    def prompt() -> None:  # what client.ui.mfa.show() would do: the user proves a factor
        prompted.append(True)
        ctx = _ctx(runtime, env, sdk)
        with runtime.db.write() as uow:
            minted = runtime.services.core.tokens.mint_mfa_token(uow, ctx, single_use=True, via="test")
        sdk.tokens.set_mfa_token(minted, single_use=True)

    claimed = sdk.wallets.claim(wallet, prompt=prompt)  # type: ignore[arg-type]
    assert prompted == [True] and claimed.pregenerated is False
    with pytest.raises(MfaRequiredError):  # signing is gated as ever: the claim is over, not the MFA
        claimed.sign_message("now")


def _ctx(runtime: Runtime, env: EnvFixture, sdk: Client) -> Any:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env.id, str(sdk.session.jwt))


@pytest.mark.sqlite_suffices
def test_standin_share_is_useless_after_the_claim_and_a_second_claim_is_refused(
    sqlite_only: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    runtime = sqlite_only
    env = make_environment(runtime, settings=OPEN_SETTINGS)
    made = pregenerate(app_client, env, "erin@example.com").json()["wallets"][0]
    standin = standin_of(runtime, made["walletId"])  # what a copy of the operator's database held
    sdk, _ = email_sign_in(runtime, app_client, env, "erin@example.com", tmp_path / "shares")
    wallet = sdk.wallets.list()[0]
    assert wallet.key_version == 2

    # The key math: the stand-in share no longer completes the server's current share.
    with runtime.db.read() as uow:
        row = uow.wallets.wallet_by_id(env.id, made["walletId"])
    assert row is not None and row.custody is None
    server_now = runtime.services.wallets.vault.open_share(row)
    assert address_of(base_mul((server_now.x1 + standin.x2) % ORDER)) != made["address"]

    # A real signature attempt: this device's share replaced by the stand-in's, at the current version.
    user_id = sdk.wallets.user_id()
    sdk.wallets.store.save(env.id, user_id, wallet.id, standin, version=wallet.key_version,
                           ceremony_id=wallet.key_ceremony_id)
    forged = sdk.wallets.list()[0]
    with pytest.raises((WalletProofInvalidError, Exception)) as failed:
        forged.sign_message("with the stand-in")
    assert getattr(failed.value, "code", "") in ("wallet_proof_invalid", "wallet_signature_invalid")

    # A second claim: nothing to deliver any more.
    second = app_client.post(env.sdk(f"/waas/{made['walletId']}/claim"), headers=auth(sdk),
                             json={"recipientPublicKey": _recipient()})
    assert (second.status_code, second.json()["code"]) == (409, "wallet_already_claimed")
    assert "ciphertext" not in second.json()
    assert "wallet.claimed" in audit_events(runtime, env.id)


def _recipient() -> str:
    from actionmfa.wallet.export import generate_recipient_key, recipient_public_key_b64

    return recipient_public_key_b64(generate_recipient_key())


@pytest.mark.sqlite_suffices
def test_an_identity_that_never_signs_in_keeps_its_wallet_sealed(
    sqlite_only: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    runtime = sqlite_only
    env = make_environment(runtime, settings=OPEN_SETTINGS)
    r = pregenerate(app_client, env, "frank@example.com")
    made = r.json()["wallets"][0]
    standin = standin_of(runtime, made["walletId"])
    secret_hex = format(standin.x2, "064x")
    other, _ = email_sign_in(runtime, app_client, env, "grace@example.com", tmp_path / "shares")
    responses = [r, app_client.get(env.sdk("/waas/wallets"), headers=auth(other)),
                 app_client.post(env.sdk(f"/waas/{made['walletId']}/claim"), headers=auth(other),
                                 json={"recipientPublicKey": _recipient()}),
                 pregenerate(app_client, env, "frank@example.com")]
    assert responses[1].json()["wallets"] == [] and responses[2].status_code == 404
    for response in responses:
        text = response.text
        assert secret_hex not in text and "ciphertext" not in text and "standin" not in text.lower()
    assert other.wallets.list() == []
    with runtime.db.read() as uow:
        row = uow.pregenerated.get(made["walletId"])
        assert row is not None and row.user_id is None and row.standin_share is not None
        assert uow.conn.execute(select(waas_wallets.c.id)).all() == []  # no user has it
        blob = uow.conn.execute(select(waas_pregenerated.c.standin_share)).scalar_one()
    assert secret_hex not in blob  # sealed at rest
    with pytest.raises(Exception):
        runtime.keyring.decrypt(blob, aad=f"waas-wallet:{made['walletId']}")


@pytest.mark.sqlite_suffices
def test_external_auth_sub_and_an_existing_user(
    sqlite_only: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.api.test_external_auth import external_settings, pem_of, token

    runtime = sqlite_only
    key = ec.generate_private_key(ec.SECP256R1())
    env = make_environment(runtime, settings={**external_settings(publicKeyPem=pem_of(key))})
    made = pregenerate(app_client, env, {"identifier": "dev-user-42", "type": "externalUserId"}).json()["wallets"][0]
    assert made["status"] == "sealed"
    r = app_client.post(env.sdk("/externalAuth/signin"), json={"jwt": token(key, runtime.clock)})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert [c["address"] for c in user["verifiedCredentials"] if c["format"] == "blockchain"] == [made["address"]]
    again = pregenerate(app_client, env, {"identifier": "dev-user-42", "type": "externalUserId"}).json()["wallets"]
    assert (again[0]["walletId"], again[0]["status"], again[0]["userId"]) == (made["walletId"], "pregenerated",
                                                                             user["id"])
    # An identity that already has a user gets the wallet at once (no second sign-in needed).
    email_env = make_environment(runtime, settings=OPEN_SETTINGS)
    sdk, _ = email_sign_in(runtime, app_client, email_env, "heidi@example.com", tmp_path / "shares")
    late = pregenerate(app_client, email_env, "heidi@example.com").json()["wallets"][0]
    assert late["status"] == "pregenerated"
    assert sdk.wallets.list()[0].key_version == 2  # claimed by the next list()


@pytest.mark.sqlite_suffices
def test_claim_survives_lost_answers(sqlite_only: Runtime, app_client: TestClient, tmp_path: Path) -> None:
    """The delivery's answer lost, then the refresh's confirmation lost: each retry completes the claim
    without a second wallet or a stuck one."""
    runtime = sqlite_only
    env = make_environment(runtime, settings=OPEN_SETTINGS)
    made = pregenerate(app_client, env, "ivan@example.com").json()["wallets"][0]
    sdk, _ = email_sign_in(runtime, app_client, env, "ivan@example.com", tmp_path / "shares")
    lossy = LossyHttp(app_client)
    sdk._http = cast(httpx.Client, lossy)
    for pattern in (r"/claim$", r"/refresh$", r"/refresh/[^/]+$", r"/refresh/[^/]+/confirm$"):
        wallet = sdk.wallets.list(claim=False)[0]
        if not wallet.pregenerated:
            break
        lossy.arm(pattern, then_down=False)
        with contextlib.suppress(httpx.TransportError):
            sdk.wallets.claim(wallet)  # type: ignore[arg-type]
    wallet = sdk.wallets.list()[0]
    assert wallet.pregenerated is False and lossy.dropped >= 1
    signed = wallet.sign_message("after lost answers")
    assert Account.recover_message(encode_defunct(text="after lost answers"),
                                   signature=signed.signature) == made["address"]


# --- the admin route ------------------------------------------------------------------------------------


@pytest.mark.sqlite_suffices
def test_idempotent_per_identity_and_batched(
    sqlite_only: Runtime, app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pregen_module, "WRITE_CHUNK", 2)  # several write transactions in one request
    env = make_environment(sqlite_only, settings=OPEN_SETTINGS)
    first = pregenerate(app_client, env, "a@example.com", "b@example.com", "A@example.com",
                        {"identifier": "a@example.com", "type": "externalUserId"}, "c@example.com")
    assert first.status_code == 200, first.text
    wallets = first.json()["wallets"]
    assert [w["identifier"] for w in wallets] == ["a@example.com", "b@example.com", "a@example.com",
                                                  "a@example.com", "c@example.com"]
    assert wallets[0]["walletId"] == wallets[2]["walletId"] != wallets[3]["walletId"]  # another identity type
    assert len({w["walletId"] for w in wallets}) == 4 and len({w["address"] for w in wallets}) == 4
    second = pregenerate(app_client, env, "c@example.com", "b@example.com", "d@example.com").json()["wallets"]
    assert [w["created"] for w in second] == [False, False, True]
    assert second[0]["walletId"] == wallets[4]["walletId"] and second[1]["walletId"] == wallets[1]["walletId"]
    one = app_client.post(f"/api/v0/environments/{env.id}/waas/pregenerated",
                          json={"identifier": "b@example.com", "type": "email"},
                          headers={"Authorization": f"Bearer {env.admin_token}"})
    assert one.status_code == 200 and one.json()["wallets"][0]["walletId"] == wallets[1]["walletId"]
    with sqlite_only.db.read() as uow:
        assert len(uow.conn.execute(select(waas_pregenerated.c.id)).all()) == 5
    assert audit_events(sqlite_only, env.id).count("wallet.pregenerated") == 5


@pytest.mark.sqlite_suffices
def test_the_dashboard_pregenerates_wallets(sqlite_only: Runtime, app_client: TestClient) -> None:
    """The wallets page's form: CSRF-checked, one identity a line, at most ten, the same wallets as the API."""
    env = make_environment(sqlite_only, settings=OPEN_SETTINGS)
    assert app_client.post("/dashboard/login", data={"adminToken": env.admin_token},
                           follow_redirects=False).status_code == 303
    page = app_client.get(f"/dashboard/environments/{env.id}/wallets").text
    assert 'id="pregenerate"' in page and "custodial" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    url = f"/dashboard/environments/{env.id}/wallets/pregenerate"
    lines = "# newcomers\nana@example.com\n\nexternalUserId:auth0|42\n"
    assert app_client.post(url, data={"identities": lines, "csrf": "forged"}).status_code == 403
    made = app_client.post(url, data={"identities": lines, "csrf": csrf})
    assert made.status_code == 200, made.text
    assert "2 wallet(s) pregenerated, 0 already existed" in made.text
    rows = re.findall(r"<tr><td data-label=\"Identity\">(.*?)</td>.*?<code>([0-9a-f-]{36})</code>", made.text, re.S)
    assert [r[0] for r in rows] == ["email:ana@example.com", "externalUserId:auth0|42"]
    api = pregenerate(app_client, env, "ana@example.com").json()["wallets"][0]
    assert (api["walletId"], api["created"]) == (rows[0][1], False)  # the same wallet, not a second one
    for bad, status in (("not-an-address", 422), ("\n".join(f"u{n}@example.com" for n in range(11)), 422),
                        ("", 422)):
        assert app_client.post(url, data={"identities": bad, "csrf": csrf}).status_code == status
    with sqlite_only.db.read() as uow:
        assert len(uow.conn.execute(select(waas_pregenerated.c.id)).all()) == 2


@pytest.mark.sqlite_suffices
def test_batch_limit_and_bad_input(sqlite_only: Runtime, app_client: TestClient) -> None:
    env = make_environment(sqlite_only, settings=OPEN_SETTINGS)
    other = make_environment(sqlite_only, name="Other")
    url = f"/api/v0/environments/{env.id}/waas/pregenerated"
    admin = {"Authorization": f"Bearer {env.admin_token}"}
    too_many = app_client.post(url, headers=admin,
                               json={"identities": [{"identifier": f"u{n}@example.com"} for n in range(1001)]})
    assert (too_many.status_code, too_many.json()["code"]) == (422, "pregenerated_batch_too_large")
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"identities": [{"identifier": "not-an-address", "type": "email"}]}, "invalid_request",
         "identities[0].identifier"),
        ({"identities": [{"identifier": "x@example.com", "type": "phoneNumber"}]}, "invalid_request", None),
        ({"identities": [{"identifier": " padded ", "type": "externalUserId"}]}, "invalid_request",
         "identities[0].identifier"),
        ({}, "invalid_request", "identities"),
        ({"identities": [{"identifier": "x@example.com"}], "chains": ["SOL"]}, "invalid_request", None),
        ({"identities": [{"identifier": "x@example.com"}], "identifier": "y@example.com"}, "invalid_request",
         "identifier"),
        ({"identities": "x@example.com"}, "invalid_request", None),
    ]
    for body, code, field_name in cases:
        r = app_client.post(url, headers=admin, json=body)
        assert (r.status_code, r.json()["code"]) == (422, code), (body, r.text)
        if field_name is not None:
            assert r.json().get("field") == field_name, (body, r.text)
    assert app_client.post(url, json={"identifier": "x@example.com"}).status_code == 401
    foreign = app_client.post(url, json={"identifier": "x@example.com"},
                              headers={"Authorization": f"Bearer {other.admin_token}"})
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    with sqlite_only.db.read() as uow:
        assert uow.conn.execute(select(waas_pregenerated.c.id)).all() == []


@pytest.mark.sqlite_suffices
def test_key_rotation_reseals_standin_shares(sqlite_only: Runtime, app_client: TestClient) -> None:
    from actionmfa.services.wallets.admin import rotate_wallet_secrets

    env = make_environment(sqlite_only, settings=OPEN_SETTINGS)
    made = pregenerate(app_client, env, "judy@example.com").json()["wallets"][0]
    before = standin_of(sqlite_only, made["walletId"])
    keyring = sqlite_only.keyring
    rotated = type(keyring)(keys={**keyring.keys, "k-new": b"\x07" * 32}, active_key_id="k-new",
                            hash_key=keyring.hash_key)
    with sqlite_only.db.write() as uow:
        assert rotate_wallet_secrets(uow, rotated) >= 2  # the waiting server share and the stand-in share
        row = uow.pregenerated.get(made["walletId"])
    assert row is not None and row.standin_share is not None and rotated.key_id_of(row.standin_share) == "k-new"
    sqlite_only.services.wallets.pregenerated.keyring = rotated
    assert sqlite_only.services.wallets.pregenerated.open_standin(made["walletId"], row.standin_share).x2 == before.x2


@pytest.mark.sqlite_suffices
def test_the_claim_reaches_the_developers_webhook(sqlite_only: Runtime, app_client: TestClient, tmp_path: Path) -> None:
    """``wallet.standin_erased`` is relayed to the outbox as ``wallet.pregenerated.claimed`` (docs/webhooks.md);
    creation and delivery are not webhook events."""
    from actionmfa.services.wallets.delivery import create_delegation_secret

    runtime = sqlite_only
    env = make_environment(runtime, settings={**OPEN_SETTINGS, "webhooks": {"url": "http://127.0.0.1:9/hooks"}})
    with runtime.db.write() as uow:
        create_delegation_secret(uow, runtime.services.wallets.vault, env.id, now=runtime.clock.now())
    made = pregenerate(app_client, env, "kim@example.com").json()["wallets"][0]
    sdk, _ = email_sign_in(runtime, app_client, env, "kim@example.com", tmp_path / "shares")
    sdk.wallets.list()
    worker = runtime.services.core.webhooks
    worker.relay()
    events = worker.list_events(env.id)
    assert [(e["eventName"], e["orderingKey"]) for e in events] == [("wallet.pregenerated.claimed", made["walletId"])]


def test_two_requests_racing_for_one_identity_make_one_wallet(pregen_runtime: Runtime) -> None:
    """Both generate a key (outside any transaction); the unique index settles it in the writing
    transaction's savepoint: the loser answers the winner's wallet (``created: false``)."""
    import threading

    from actionmfa.services.core.environments import AdminPrincipal
    from actionmfa.services.wallets.pregenerated import Identity

    env = make_environment(pregen_runtime, settings=OPEN_SETTINGS)
    service = pregen_runtime.services.wallets.pregenerated
    identity = Identity.parse("email", "race@example.com", field="t")
    start = threading.Barrier(2)
    answers: list[tuple[str, bool]] = []

    def run() -> None:
        start.wait(timeout=30)
        result = service.create(AdminPrincipal("t", None), env.id, [identity])[0]
        answers.append((result.row.id, result.created))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 2 and answers[0][0] == answers[1][0]
    assert sorted(created for _, created in answers) == [False, True]
    with pregen_runtime.db.read() as uow:
        assert len(uow.conn.execute(select(waas_pregenerated.c.id)).all()) == 1
    assert audit_events(pregen_runtime, env.id).count("wallet.pregenerated") == 1
