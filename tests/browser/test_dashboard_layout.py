"""The dashboard at 1280 and 390 px (issue 12, deliverable 5): every page fits the viewport, has
Sign out, passes axe-core with no serious violation, and works from the keyboard; the Users page
shows methods, wallets and lock states and can reset MFA and unlock a wallet; the audit log filters.
Issue 13: a user's page (wallet scheme, key version, lock, pending action, last signature), the
wallets page with its environment-wide delegation decisions (asked again, then done), and the
webhook delivery history with its redeliver button.

Screenshots of each page at both widths go to the test's temporary directory, or — with
``ACTIONMFA_SCREENSHOTS=1`` — to docs/screenshots/ (how the committed ones were made), so that an
ordinary test run leaves the work tree as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.domain.wallets import LockReason, PendingAction
from actionmfa.sdk.client import Client
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.delivery import create_delegation_secret
from actionmfa.store.db import Database
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests.browser.axe import serious_violations
from tests.conftest import EnvFixture, make_environment, sign_in
from tests.live_server import LiveServer, chromium_browser, serve

pytestmark = pytest.mark.browser

OPERATOR = AdminPrincipal(token_id="test", environment_id=None)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def paillier() -> PreparedPaillier:
    return PreparedPaillier.generate(2048, safe_primes=False)


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path, keyring: Keyring, paillier: PreparedPaillier) -> Iterator[LiveServer]:
    runtime = Runtime.build(ServerConfig(data_dir=tmp_path), clock=SystemClock(), keyring=keyring,
                            db=Database(sqlite_url))
    runtime.services.wallets.keys.use(lambda: paillier, size=1)
    with serve(runtime) as server:
        yield server
    runtime.close()
    runtime.db.dispose()


@pytest.fixture(scope="module")
def developer_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _populate(live: LiveServer, tmp_path: Path, developer_pem: str) -> tuple[EnvFixture, str, str]:
    """An environment with delegated access and a webhook receiver that is down, and a user who has
    TOTP, a signed-with, locked wallet marked for delegation approval, and an MFA lockout."""
    env = make_environment(live.runtime, "Acme production", settings={
        "general": {"displayName": "Acme Wallet"}, "webhooks": {"url": "http://127.0.0.1:9/events"},
        "security": {"delegatedAccess": {"enabled": True, "webhookUrl": "http://127.0.0.1:9/delegation",
                                         "publicKeyPem": developer_pem}}})
    with live.runtime.db.write() as uow:
        create_delegation_secret(uow, live.runtime.services.wallets.vault, env.id, now=datetime.now(UTC))
    who = sign_in(live.runtime, env, "alice.with.a.rather.long.address@example.com")
    client = Client(env.id, base_url=live.url, timeout=60)
    client.set_session({"jwt": who.jwt})
    client.wallets.configure(share_dir=tmp_path / "shares")
    setup = client.mfa.add_device()
    totp = pyotp.TOTP(setup.secret)
    client.mfa.verify_device(totp.now())
    wallet = client.wallets.create()
    wallet.sign_message("hello")  # the user page shows the last signature
    for _ in range(5):  # five wrong codes: the MFA lockout
        try:
            client.mfa.authenticate_device(code="000000" if totp.now() != "000000" else "111111")
        except Exception:  # noqa: S112 - the expected refusals
            continue
    with live.runtime.db.write() as uow:
        uow.wallets.lock(wallet.id, reason=LockReason.INVALID_SIGNATURE, now=datetime.now(UTC))
    live.runtime.services.wallets.admin.mark_delegation(OPERATOR, env.id, PendingAction.APPROVE_DELEGATION,
                                                        user_id=who.user.id)
    live.runtime.services.core.webhooks.run_once()  # the receiver is down: a failed attempt each
    client.close()
    return env, who.user.id, wallet.id


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url}: document is {width} px wide in a {viewport} px window"


def _check(page: Any, name: str, size: str, shots: Path) -> None:
    _fits(page)
    assert page.locator("#sign-out").count() == 1, f"{page.url}: no Sign out"
    violations = serious_violations(page)
    assert violations == [], f"{page.url} at {size}: {violations}"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"dashboard-{name}-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", list(WIDTHS))
def test_every_page_fits_has_sign_out_and_passes_axe(live: LiveServer, tmp_path: Path, size: str,
                                                     developer_pem: str) -> None:
    env, user_id, _wallet_id = _populate(live, tmp_path, developer_pem)
    width, height = WIDTHS[size]
    shots = SCREENSHOTS if os.environ.get("ACTIONMFA_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live.url}/dashboard/login")
        _fits(page)
        assert serious_violations(page) == []
        # keyboard only: the token field has focus, Enter submits
        page.keyboard.type(env.admin_token)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/dashboard")
        _check(page, "environments", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}")
        _check(page, "settings", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}/users")
        row = page.inner_text(f"#user-{user_id}")
        assert "TOTP" in row and "locked: invalid_signature" in row and "MFA locked until" in row
        _check(page, "users", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}/audit")
        _check(page, "audit", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}/users/{user_id}")
        wallet_row = page.inner_text("#wallets tbody tr")
        assert "2-of-2 · EVM" in wallet_row and "approve delegation" in wallet_row and "never" not in wallet_row
        _check(page, "user", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}/wallets")
        _check(page, "wallets", size, shots)
        page.click("#revoke-all")
        assert page.locator("#confirm").is_visible()
        _check(page, "delegation-confirm", size, shots)
        page.goto(f"{live.url}/dashboard/environments/{env.id}/webhooks")
        assert "user.mfa.method_added" in page.inner_text("#deliveries")
        _check(page, "webhooks", size, shots)
        context.close()


def test_operator_actions_reset_unlock_filter_revoke_every_wallet_redeliver(
    live: LiveServer, tmp_path: Path, developer_pem: str
) -> None:
    env, user_id, wallet_id = _populate(live, tmp_path, developer_pem)
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        page.goto(f"{live.url}/dashboard/login")
        page.fill("#adminToken", env.admin_token)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/dashboard")
        page.goto(f"{live.url}/dashboard/environments/{env.id}/users")
        page.get_by_role("button", name="Unlock wallet").click()
        assert "unlocked" in page.inner_text("#done")
        assert "locked: invalid_signature" not in page.inner_text(f"#user-{user_id}")
        page.get_by_role("button", name="Reset MFA of").click()
        assert "MFA reset" in page.inner_text("#done")
        row = page.inner_text(f"#user-{user_id}")
        assert "TOTP" not in row and "MFA locked until" not in row
        # the audit log, filtered to one event for this user: readable details, no JSON braces
        page.goto(f"{live.url}/dashboard/environments/{env.id}/audit")
        page.fill("#f-user", user_id[:8])
        page.fill("#f-event", "wallet.unlocked")
        page.click("#apply-filters")
        table = page.inner_text("#audit")
        assert "wallet.unlocked" in table and "mfa.enrolled" not in table and "operator" in table
        assert "{" not in table
        page.fill("#f-event", "")
        page.fill("#f-outcome", "mfa_invalid_code")
        page.click("#apply-filters")
        assert "mfa.auth_failed" in page.inner_text("#audit")
        # every wallet: asked again (the environment's name), then the pending approval is withdrawn
        page.goto(f"{live.url}/dashboard/environments/{env.id}/wallets")
        page.click("#revoke-all")
        assert "1 approval(s) not yet completed will be withdrawn" in page.inner_text("#confirm-what")
        page.fill("#confirm", "Acme")  # not the name: nothing happens
        page.click("#confirm-button")
        assert "not this environment's name" in page.inner_text("#error")
        with live.runtime.db.read() as uow:
            assert uow.wallets.wallet_by_id(env.id, wallet_id).pending_action == "approve_delegation"  # type: ignore[union-attr]
        page.fill("#confirm", "Acme production")
        page.click("#confirm-button")
        assert "1 pending approval(s) withdrawn" in page.inner_text("#done")
        page.goto(f"{live.url}/dashboard/environments/{env.id}/users/{user_id}")
        assert "approve delegation" not in page.inner_text("#wallets")
        page.goto(f"{live.url}/dashboard/environments/{env.id}/webhooks")
        page.get_by_role("button", name="Redeliver user.mfa.method_added").first.click()
        assert "queued again" in page.inner_text("#done")
        page.click("#sign-out")  # the form carries its CSRF token
        page.wait_for_url(f"{live.url}/dashboard/login")


def test_the_admin_api_unlocks_a_wallet(live: LiveServer, tmp_path: Path, developer_pem: str) -> None:
    env, _, wallet_id = _populate(live, tmp_path, developer_pem)
    url = f"{live.url}/api/v0/environments/{env.id}/waas/{wallet_id}/unlock"
    auth = {"Authorization": f"Bearer {env.admin_token}"}
    assert httpx.post(url, json={"note": "checked the ceremony"}).status_code == 401
    r = httpx.post(url, json={"note": "checked the ceremony"}, headers=auth)
    assert r.status_code == 200 and r.json() == {"walletId": wallet_id, "unlocked": True}
    assert httpx.post(url, json={}, headers=auth).json()["unlocked"] is False
    r = httpx.post(f"{live.url}/api/v0/environments/{env.id}/waas/nope/unlock", json={}, headers=auth)
    assert r.status_code == 404

