"""The dashboard's wallet and webhook pages without a browser (issue 13.2, 13.4, 13.5): a user's
wallets with scheme, key version, lock, pending action and last signature; delegation approved or
revoked for one user or (after a confirmation) for the whole environment; the delivery history and
its redeliver button; every form CSRF-checked — sign-out included."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from actionmfa.domain.wallets import Chain, PendingAction
from actionmfa.errors import NotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.delivery import create_delegation_secret
from tests.conftest import EnvFixture, make_environment, sign_in


def _wallet(runtime: Runtime, env_id: str, user_id: str, *, scheme: str = "TWO_OF_TWO",
            pending: str | None = None, key_version: int = 1, chain: Chain = Chain.EVM) -> str:
    """A wallet row as the operator sees it (no key material: these pages never open a share)."""
    wallet_id = str(uuid.uuid4())
    now = runtime.clock.now()
    with runtime.db.write() as uow:
        uow.wallets.add_wallet(id=wallet_id, environment_id=env_id, user_id=user_id, chain=chain.value,
                               address="0x" + uuid.uuid4().hex[:8] * 5, public_key="02" + "ab" * 32,
                               server_share="sealed", key_version=key_version, lock_count=0, created_at=now,
                               updated_at=now, threshold_scheme=scheme, pending_action=pending)
    return wallet_id


def _pending(runtime: Runtime, env_id: str, wallet_id: str) -> str | None:
    with runtime.db.read() as uow:
        row = uow.wallets.wallet_by_id(env_id, wallet_id)
    assert row is not None
    return row.pending_action


def _login(app: TestClient, env: EnvFixture) -> None:
    r = app.post("/dashboard/login", data={"adminToken": env.admin_token}, follow_redirects=False)
    assert r.status_code == 303


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _events(runtime: Runtime, env_id: str, event: str) -> list[dict[str, Any]]:
    """The details of each audit row of ``event``, oldest first."""
    with runtime.db.read() as uow:
        rows = uow.audit.page(env_id, limit=200, before_id=None)
    return [dict(r.details or {}) for r in reversed(rows) if r.event == event]


@pytest.fixture(scope="module")
def developer_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def env(runtime: Runtime, developer_pem: str) -> EnvFixture:
    """An environment with delegated access on."""
    return make_environment(runtime, "Acme delegation", settings={"security": {"delegatedAccess": {
        "enabled": True, "webhookUrl": "http://127.0.0.1:9/hook", "publicKeyPem": developer_pem}}})


def test_sign_out_needs_the_form_token(app_client: TestClient, environment: EnvFixture) -> None:
    """A cross-site form must not end the operator's session (the old sign-out took any POST)."""
    _login(app_client, environment)
    page = app_client.get("/dashboard").text
    assert 'action="/dashboard/logout"' in page and 'name="csrf"' in page.split('action="/dashboard/logout"')[1]
    r = app_client.post("/dashboard/logout", data={}, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = app_client.post("/dashboard/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert app_client.get("/dashboard", follow_redirects=False).status_code == 200  # still signed in
    r = app_client.post("/dashboard/logout", data={"csrf": _csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert app_client.get("/dashboard", follow_redirects=False).status_code == 303


def test_user_page_shows_each_wallet_state(app_client: TestClient, runtime: Runtime, env: EnvFixture) -> None:
    who = sign_in(runtime, env, "carol@example.com")
    plain = _wallet(runtime, env.id, who.user.id)
    delegated = _wallet(runtime, env.id, who.user.id, scheme="TWO_OF_THREE", pending="revoke_delegation",
                        key_version=3)
    signed_at = runtime.clock.now() - timedelta(minutes=5)
    with runtime.db.write() as uow:
        uow.wallets.record_signature(plain, now=signed_at)
    _login(app_client, env)
    assert f"/users/{who.user.id}" in app_client.get(f"/dashboard/environments/{env.id}/users").text
    page = app_client.get(f"/dashboard/environments/{env.id}/users/{who.user.id}")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr id="wallet-([0-9a-f-]+)">(.*?)</tr>', page.text, re.S))
    assert "2-of-2 · EVM" in rows[plain] and signed_at.strftime("%Y-%m-%d %H:%M:%S") in rows[plain]
    assert "not locked" in rows[plain] and "none" in rows[plain]
    assert "2-of-3 · EVM" in rows[delegated] and "revoke delegation" in rows[delegated] and "never" in rows[delegated]
    assert re.search(r'data-label="Key version">3<', rows[delegated])
    # an unknown user, or one of another environment, is not found
    other = sign_in(runtime, make_environment(runtime, "Other"))
    assert app_client.get(f"/dashboard/environments/{env.id}/users/{other.user.id}").status_code == 404


def test_one_users_delegation_is_approved_then_revoked_from_their_page(
    app_client: TestClient, runtime: Runtime, env: EnvFixture
) -> None:
    who = sign_in(runtime, env)
    bystander = sign_in(runtime, env)
    mine, theirs = _wallet(runtime, env.id, who.user.id), _wallet(runtime, env.id, bystander.user.id)
    _login(app_client, env)
    csrf = _csrf(app_client.get(f"/dashboard/environments/{env.id}/users/{who.user.id}").text)
    url = f"/dashboard/environments/{env.id}/delegation"
    r = app_client.post(url, data={"csrf": "forged", "action": "approve", "userId": who.user.id})
    assert r.status_code == 403 and _pending(runtime, env.id, mine) is None
    r = app_client.post(url, data={"csrf": csrf, "action": "approve", "userId": who.user.id})
    assert r.status_code == 200 and "marked on 1" in r.text
    assert _pending(runtime, env.id, mine) == "approve_delegation" and _pending(runtime, env.id, theirs) is None
    [marked] = _events(runtime, env.id, "wallet.delegation_pending")
    assert marked == {"walletId": mine, "pendingAction": "approve_delegation", "scope": "user"}
    # revoking this user's delegation withdraws the approval they have not completed yet
    r = app_client.post(url, data={"csrf": csrf, "action": "revoke", "userId": who.user.id})
    assert r.status_code == 200 and "1 pending approval(s) withdrawn" in r.text
    assert _pending(runtime, env.id, mine) is None
    assert [e["walletId"] for e in _events(runtime, env.id, "wallet.delegation_withdrawn")] == [mine]
    r = app_client.post(url, data={"csrf": csrf, "action": "approve", "userId": str(uuid.uuid4())})
    assert r.status_code == 404


def test_environment_wide_revocation_asks_for_the_environments_name(
    app_client: TestClient, runtime: Runtime, env: EnvFixture
) -> None:
    users = [sign_in(runtime, env) for _ in range(3)]
    delegated = [_wallet(runtime, env.id, u.user.id, scheme="TWO_OF_THREE") for u in users[:2]]
    approved = _wallet(runtime, env.id, users[2].user.id, pending="approve_delegation")
    _login(app_client, env)
    page = app_client.get(f"/dashboard/environments/{env.id}/wallets").text
    assert 'id="revoke-all"' in page
    url = f"/dashboard/environments/{env.id}/delegation"
    first = app_client.post(url, data={"csrf": _csrf(page), "action": "revoke"})
    assert first.status_code == 200 and 'id="confirm"' in first.text
    assert "2 delegated (2-of-3) wallet(s)" in first.text and "1 approval(s)" in first.text
    assert [_pending(runtime, env.id, w) for w in delegated] == [None, None]  # nothing yet
    wrong = app_client.post(url, data={"csrf": _csrf(first.text), "action": "revoke", "confirm": "Acme"})
    assert 'id="error"' in wrong.text and [_pending(runtime, env.id, w) for w in delegated] == [None, None]
    forged = app_client.post(url, data={"csrf": "forged", "action": "revoke", "confirm": env.environment.name})
    assert forged.status_code == 403 and [_pending(runtime, env.id, w) for w in delegated] == [None, None]
    done = app_client.post(url, data={"csrf": _csrf(first.text), "action": "revoke",
                                      "confirm": env.environment.name})
    assert done.status_code == 200 and "marked on 2" in done.text
    assert [_pending(runtime, env.id, w) for w in delegated] == ["revoke_delegation"] * 2
    assert _pending(runtime, env.id, approved) is None  # withdrawn: no fresh share for a leaked key
    assert {e["scope"] for e in _events(runtime, env.id, "wallet.delegation_pending")} == {"environment"}


def test_the_admin_api_revocation_withdraws_pending_approvals(
    app_client: TestClient, runtime: Runtime, env: EnvFixture
) -> None:
    """Approve, then the developer key leaks: revoking every wallet must also cancel the approval a
    user has not completed (before, the 2-of-2 wallet stayed marked and would reshare to 2-of-3)."""
    who = sign_in(runtime, env)
    wallet = _wallet(runtime, env.id, who.user.id)
    solana = _wallet(runtime, env.id, who.user.id, chain=Chain.SOL)  # cannot reshare: never marked
    auth = {"authorization": f"Bearer {env.admin_token}"}
    base = f"/api/v0/environments/{env.id}/waas/delegation"
    r = app_client.post(f"{base}/approve", json={"userId": who.user.id}, headers=auth)
    assert r.json()["walletIds"] == [wallet] and _pending(runtime, env.id, solana) is None
    r = app_client.post(f"{base}/revoke", json={}, headers=auth)
    assert r.status_code == 200
    assert r.json() == {"environmentId": env.id, "pendingAction": "revoke_delegation", "walletIds": [],
                        "withdrawnWalletIds": [wallet]}
    assert _pending(runtime, env.id, wallet) is None


def test_delivery_history_and_redeliver(app_client: TestClient, runtime: Runtime) -> None:
    env = make_environment(runtime, "Hooks", settings={"webhooks": {"url": "http://127.0.0.1:9/x"}})
    other = make_environment(runtime, "Other hooks", settings={"webhooks": {"url": "http://127.0.0.1:9/y"}})
    for e in (env, other):
        with runtime.db.write() as uow:
            create_delegation_secret(uow, runtime.services.wallets.vault, e.id, now=runtime.clock.now())
            audit.record(uow, AuditIds(e.id, "u-1"), AuditEvent.MFA_RESET, now=runtime.clock.now(), outcome="ok")
    runtime.services.core.webhooks.run_once()  # port 9 refuses: one failed attempt each
    [event] = runtime.services.core.webhooks.list_events(env.id)
    [foreign] = runtime.services.core.webhooks.list_events(other.id)
    _login(app_client, env)
    page = app_client.get(f"/dashboard/environments/{env.id}/webhooks")
    assert page.status_code == 200
    row = re.search(rf'<tr id="event-{event["eventId"]}">(.*?)</tr>', page.text, re.S).group(1)  # type: ignore[union-attr]
    assert "user.mfa.reset_by_admin" in row and "pending" in row and "ConnectError" in row
    assert event["nextAttemptAt"][:19].replace("T", " ") in row
    assert foreign["eventId"] not in page.text  # another environment's events are not listed
    filtered = app_client.get(f"/dashboard/environments/{env.id}/webhooks?status=delivered").text
    assert event["eventId"] not in filtered and "No delivered events." in filtered
    url = f"/dashboard/environments/{env.id}/webhooks/{event['eventId']}/redeliver"
    assert app_client.post(url, data={"csrf": "forged"}).status_code == 403
    assert _events(runtime, env.id, "webhook.redelivered") == []
    r = app_client.post(url, data={"csrf": _csrf(page.text)})
    assert r.status_code == 200 and "queued again" in r.text
    [audited] = _events(runtime, env.id, "webhook.redelivered")
    assert audited["eventId"] == event["eventId"] and audited["operator"] == "dashboard"
    # an event of another environment is not found through this environment's page
    r = app_client.post(f"/dashboard/environments/{env.id}/webhooks/{foreign['eventId']}/redeliver",
                        data={"csrf": _csrf(page.text)})
    assert r.status_code == 404


def test_delegation_summary_and_withdrawal_on_each_backend(runtime_any: Runtime, developer_pem: str) -> None:
    """The counting and conditional marking queries, on SQLite and PostgreSQL."""
    env = make_environment(runtime_any, "Both", settings={"security": {"delegatedAccess": {
        "enabled": True, "webhookUrl": "http://127.0.0.1:9/hook", "publicKeyPem": developer_pem}}})
    a, b = sign_in(runtime_any, env), sign_in(runtime_any, env)
    approved = _wallet(runtime_any, env.id, a.user.id, pending="approve_delegation")
    plain = _wallet(runtime_any, env.id, b.user.id)
    delegated = _wallet(runtime_any, env.id, b.user.id, scheme="TWO_OF_THREE")
    _wallet(runtime_any, env.id, b.user.id, chain=Chain.SOL)
    admin, operator = runtime_any.services.wallets.admin, AdminPrincipal(token_id="t", environment_id=None)
    summary = admin.delegation_summary(operator, env.id)
    assert (summary.enabled, summary.two_of_two, summary.two_of_three, summary.pending_approval,
            summary.pending_revocation) == (True, 3, 1, 1, 0)
    marks = admin.mark_delegation(operator, env.id, PendingAction.REVOKE_DELEGATION, user_id=b.user.id)
    assert (marks.marked, marks.withdrawn) == ([delegated], [])  # a's approval is not b's to withdraw
    marks = admin.mark_delegation(operator, env.id, PendingAction.REVOKE_DELEGATION)
    assert (marks.marked, marks.withdrawn) == ([delegated], [approved])
    assert _pending(runtime_any, env.id, plain) is None
    assert admin.delegation_summary(operator, env.id).pending_revocation == 1
    with pytest.raises(NotFoundError):  # an environment-scoped token of another environment
        admin.delegation_summary(AdminPrincipal(token_id="t", environment_id=str(uuid.uuid4())), env.id)


def test_the_users_credentials_carry_each_wallets_pending_action_on_each_backend(runtime_any: Runtime) -> None:
    """``verifiedCredentials[].walletProperties`` (the sign-in answer) from the one UNION ALL read."""
    env = make_environment(runtime_any, "Creds")
    who = sign_in(runtime_any, env)
    revoked = _wallet(runtime_any, env.id, who.user.id, scheme="TWO_OF_THREE", pending="revoke_delegation")
    plain = _wallet(runtime_any, env.id, who.user.id)
    wallets = {c.id: c.wallet_properties for c in runtime_any.services.core.credentials.of(who.user)
               if c.wallet_properties is not None}
    assert wallets[revoked] is not None and wallets[revoked].revoke_on_next_sign_on
    assert wallets[revoked].threshold_scheme == "TWO_OF_THREE" and wallets[revoked].reshare_on_next_sign_on is None
    assert wallets[plain] is not None and wallets[plain].pending_action is None
