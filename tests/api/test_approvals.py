"""``POST …/approvals`` and the prompt page's ``approval`` ticket (issue 12, deliverable 3)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.services.runtime import Runtime
from actionmfa.wallet.payloads import message_request
from tests.conftest import EnvFixture, SignedIn, make_environment

TX = {"chainId": 1, "nonce": 0, "to": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "value": 10**18,
      "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
STATE = "s" * 24
WALLET = "0d9e1f2a-0000-4000-8000-000000000001"
CALLBACK = "http://127.0.0.1:5555/callback"


def _approve(client: TestClient, env: EnvFixture, user: SignedIn, **body: object) -> tuple[int, dict[str, object]]:
    r = client.post(env.sdk("/approvals"), headers=user.headers, json=body)
    return r.status_code, r.json()


def _page(client: TestClient, env: EnvFixture, ticket: str) -> tuple[int, str]:
    r = client.get(f"/ui/{env.id}/mfa/prompt", params={"callback": CALLBACK, "state": STATE, "approval": ticket})
    return r.status_code, r.text


def test_a_transaction_is_described_and_its_ticket_shown_by_the_page(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    status, body = _approve(app_client, environment, signed_in_user,
                            action="wallet.waas.sign", kind="transaction", payload=TX, walletId=WALLET)
    assert status == 200, body
    assert body["title"] == "ActionMFA: send 1 ETH" and body["action"] == "wallet.waas.sign"
    assert {"label": "To", "value": TX["to"]} in body["details"]  # type: ignore[operator]
    assert isinstance(body["approvalDigest"], str) and len(body["approvalDigest"]) == 64
    status, page = _page(app_client, environment, str(body["approvalId"]))
    assert status == 200 and TX["to"] in page and "send 1 ETH" in page  # type: ignore[operator]


def test_the_digest_is_the_payloads_own(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    status, body = _approve(app_client, environment, signed_in_user,
                            action="wallet.waas.sign", kind="message", payload="pay Alice", walletId=WALLET)
    assert status == 200 and body["approvalDigest"] == message_request("pay Alice").approval_digest(wallet_id=WALLET)
    status, other = _approve(app_client, environment, signed_in_user,
                             action="wallet.waas.sign", kind="message", payload="pay Alice", walletId="another")
    assert status == 200 and other["approvalDigest"] != body["approvalDigest"]


def test_export_carries_a_warning_and_no_digest(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    status, body = _approve(app_client, environment, signed_in_user, action="wallet.waas.export")
    assert status == 200 and "controls the wallet" in str(body["warning"]) and body["approvalDigest"] is None


def test_bad_input_is_a_422_with_the_field(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    for body, field in (
        ({"action": "user.update"}, "action"),
        ({"action": "wallet.waas.sign"}, "kind"),
        ({"action": "wallet.waas.sign", "kind": "message", "payload": "hi"}, "walletId"),
        ({"action": "wallet.waas.sign", "kind": "transaction", "payload": {"to": "0x00"}, "walletId": WALLET},
         "chainId"),
        ({"action": "wallet.waas.sign", "kind": "nope", "payload": 1, "walletId": WALLET}, "kind"),
    ):
        status, answer = _approve(app_client, environment, signed_in_user, **body)
        assert (status, answer["code"], answer.get("field")) == (422, "invalid_request", field), answer
    r = app_client.post(environment.sdk("/approvals"), json={"action": "wallet.waas.export"})
    assert r.status_code == 401


def test_the_page_refuses_a_forged_another_environments_or_expired_ticket(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    _, body = _approve(app_client, environment, signed_in_user, action="wallet.waas.export")
    ticket = str(body["approvalId"])
    status, page = _page(app_client, environment, ticket[:-4] + "AAAA")
    assert status == 422 and "not valid" in page
    other = make_environment(runtime, "Other")
    assert _page(app_client, other, ticket)[0] == 422  # sealed to its own environment
    clock.advance(601)
    status, page = _page(app_client, environment, ticket)
    assert status == 422 and "expired" in page
