"""Passkeys in Debian's chromium with a CDP virtual authenticator (issue 4).

The hosted ceremony page registers a passkey and approves a gated action (``PUT /users`` with
``user.update`` required) through the SDK's :class:`BrowserAuthenticator`; a cloned credential
(same private key imported with a lower counter) is refused. Both ES256 and Ed25519: the server
offers ES256 first, so the Ed25519 runs reorder ``pubKeyCredParams`` on the way to the page, as a
relying party preferring Ed25519 would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.errors import MfaRequiredError, PasskeyInvalidError
from actionmfa.sdk.authenticators import BrowserAuthenticator
from actionmfa.sdk.client import Client
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.browser.devices import EDDSA, ES256, VirtualDevice
from tests.conftest import EnvFixture, make_environment, sign_in
from tests.live_server import LiveServer, chromium_browser, free_port, serve

pytestmark = pytest.mark.browser



@dataclass
class Site:
    server: LiveServer
    origin: str  # http://localhost:<port>: a secure context, and a valid rp id (an IP is not)
    env: EnvFixture


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path, keyring: Keyring) -> Iterator[Site]:
    runtime = Runtime.build(
        ServerConfig(data_dir=tmp_path), clock=SystemClock(), keyring=keyring, db=Database(sqlite_url)
    )
    port = free_port()
    origin = f"http://localhost:{port}"
    env = make_environment(
        runtime,
        "Passkeys",
        settings={
            "security": {
                "passkeys": {"rpId": "localhost", "rpName": "ActionMFA test", "origins": [origin]},
                "mfa": {"actions": [{"action": "user.update", "required": True}]},
            }
        },
    )
    with serve(runtime, port) as server:
        yield Site(server, origin, env)
    runtime.db.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium_browser() as b:
        yield b


def _client(site: Site) -> Client:
    who = sign_in(site.server.runtime, site.env)
    client = Client(site.env.id, base_url=site.origin)
    client.set_session({"jwt": who.jwt})
    return client


@pytest.mark.parametrize("algorithm", [ES256, EDDSA], ids=["ES256", "Ed25519"])
def test_register_on_hosted_page_then_approve_gated_action(site: Site, browser: Any, algorithm: int) -> None:
    device = VirtualDevice(browser)
    device.prefer(algorithm)
    client = _client(site)
    browser_auth = BrowserAuthenticator(open_url=device.open_url())
    try:
        client.passkeys.register(authenticator=browser_auth)
        [passkey] = client.passkeys.get()
        assert passkey.algorithm == algorithm
        assert passkey.origin == site.origin
        [on_device] = device.credentials()
        assert on_device["rpId"] == "localhost" and on_device["isResidentCredential"]

        # user.update is required and the user now has a method: no token, no update.
        with pytest.raises(MfaRequiredError):
            client.users.update(alias="Ada")
        client.passkeys.authenticate_mfa(authenticator=browser_auth, create_mfa_token={"single_use": True})
        assert client.users.update(alias="Ada").alias == "Ada"
        with pytest.raises(MfaRequiredError):  # the single-use token was spent by that update
            client.users.update(alias="Eve")

        # The page refuses an id that is no open ceremony.
        query = f"callback=http://127.0.0.1:9/cb&state={'s' * 20}"
        device.page.goto(f"{site.origin}/ui/{site.env.id}/passkeys/ceremony/{passkey.id}?{query}")
        assert "no longer be used" in device.page.inner_text("h1")
    finally:
        device.close()
        client.close()


@pytest.mark.parametrize("algorithm", [ES256, EDDSA], ids=["ES256", "Ed25519"])
def test_cloned_credential_with_lower_counter_is_refused(site: Site, browser: Any, algorithm: int) -> None:
    device = VirtualDevice(browser)
    device.prefer(algorithm)
    client = _client(site)
    browser_auth = BrowserAuthenticator(open_url=device.open_url())
    try:
        client.passkeys.register(authenticator=browser_auth)
        client.passkeys.authenticate_mfa(authenticator=browser_auth)
        [original] = device.credentials()
        assert original["signCount"] >= 1

        device.replace_with_clone(original, sign_count=0)  # same key, counter behind the server's
        with pytest.raises(PasskeyInvalidError) as refused:
            client.passkeys.authenticate_mfa(authenticator=browser_auth, create_mfa_token=True)
        assert refused.value.code == "passkey_invalid"
        assert (refused.value.payload or {}).get("reason") == "counter"
        assert client.tokens.get_mfa_token() is None
        [passkey] = client.passkeys.get()
        assert passkey.possibly_cloned
        with pytest.raises(MfaRequiredError):
            client.users.update(alias="Mallory")
    finally:
        device.close()
        client.close()


def test_hosted_page_rejects_foreign_callback(site: Site, browser: Any) -> None:
    device = VirtualDevice(browser)
    client = _client(site)
    try:
        options = client.request("GET", "/users/passkeys/register")
        url = f"{site.origin}/ui/{site.env.id}/passkeys/ceremony/{options['ceremonyId']}"
        device.page.goto(f"{url}?callback=https://evil.example/cb&state={'s' * 20}")
        assert "callback" in device.page.inner_text("[role=alert]")
        response = device.page.goto(f"{url}?callback=http://127.0.0.1:9/cb&state={'s' * 20}")
        assert response is not None and "form-action http://127.0.0.1:9" in response.headers["content-security-policy"]
        embedded = json.loads(device.page.inner_text("#ceremony-options"))
        assert embedded["challenge"] == options["challenge"]
    finally:
        device.close()
        client.close()
