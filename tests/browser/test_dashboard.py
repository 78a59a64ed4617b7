"""The operator dashboard in Debian's chromium: sign in, change settings, read the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFAAction
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.conftest import make_environment
from tests.live_server import LiveServer, chromium_browser, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def live(sqlite_url: str, tmp_path: Any, keyring: Keyring) -> Iterator[LiveServer]:
    runtime = Runtime.build(
        ServerConfig(data_dir=tmp_path), clock=SystemClock(), keyring=keyring, db=Database(sqlite_url)
    )
    with serve(runtime) as server:
        yield server
    runtime.db.dispose()


@pytest.fixture
def page(live: LiveServer) -> Iterator[Any]:
    with chromium_browser() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def test_operator_signs_in_and_requires_mfa_for_signing(live: LiveServer, page: Any) -> None:
    env = make_environment(live.runtime, "Acme Wallets")
    page.goto(f"{live.url}/dashboard/login")
    page.fill("#adminToken", "amfa_admin_wrong")
    page.click("button[type=submit]")
    assert "not valid" in page.inner_text("[role=alert]")

    page.fill("#adminToken", env.admin_token)
    page.click("button[type=submit]")
    page.click("text=Acme Wallets")
    page.check("#required-wallet\\.waas\\.sign")
    page.fill("#expiry-wallet\\.waas\\.sign", "120")
    page.select_option("#mfa-enrollment", "action")
    page.click("#save")
    assert page.inner_text("#saved") == "Settings saved."

    with live.runtime.db.read() as uow:
        mfa = live.runtime.environments.get(uow, env.id).settings.security.mfa
    sign = mfa.action(MFAAction.WALLET_WAAS_SIGN)
    assert sign.required is True and sign.tokenExpirySeconds == 120
    assert mfa.enrollment.value == "action" and mfa.required is True
    assert mfa.action(MFAAction.WALLET_WAAS_EXPORT).required is False

    # A value the settings refuse is shown with its reason, and nothing is written.
    page.fill("#expiry-wallet\\.waas\\.sign", "5")
    page.click("#save")
    assert "tokenExpirySeconds" in page.inner_text("#error")
    with live.runtime.db.read() as uow:
        again = live.runtime.environments.get(uow, env.id).settings.security.mfa
    assert again.action(MFAAction.WALLET_WAAS_SIGN).tokenExpirySeconds == 120

    page.click("text=Audit log")
    assert page.locator("#audit").is_visible()


def test_env_token_cannot_open_another_environment(live: LiveServer, page: Any) -> None:
    mine = make_environment(live.runtime, "Mine")
    other = make_environment(live.runtime, "Other")
    page.goto(f"{live.url}/dashboard/login")
    page.fill("#adminToken", mine.admin_token)
    page.click("button[type=submit]")
    assert page.locator("text=Other").count() == 0
    response = page.goto(f"{live.url}/dashboard/environments/{other.id}")
    assert response is not None and response.status == 404
