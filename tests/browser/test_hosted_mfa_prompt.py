"""The hosted MFA prompt (``client.ui.mfa.show(browser=True)``) in Debian's chromium.

The SDK opens the server's prompt page, the "user" types codes into it, the answer reaches the
SDK on its loopback callback, and the minted token then opens a gated action by itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.errors import MfaRequiredError
from actionmfa.sdk.client import Client
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.conftest import EnvFixture, make_environment, sign_in
from tests.live_server import LiveServer, chromium_browser, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path, keyring: Keyring, clock: FrozenClock) -> Iterator[LiveServer]:
    runtime = Runtime.build(ServerConfig(data_dir=tmp_path), clock=clock, keyring=keyring, db=Database(sqlite_url))
    with serve(runtime) as server:
        yield server
    runtime.db.dispose()


@pytest.fixture
def env(live: LiveServer) -> EnvFixture:
    return make_environment(
        live.runtime,
        "Prompt",
        settings={"security": {"mfa": {"actions": [{"action": "user.update", "required": True}]}}},
    )


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_browser() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def _client_with_totp(live: LiveServer, env: EnvFixture, clock: FrozenClock) -> tuple[Client, pyotp.TOTP]:
    who = sign_in(live.runtime, env)
    client = Client(env.id, base_url=live.url)
    client.set_session({"jwt": who.jwt, "expiresAt": int(clock.now().timestamp()) + 3600})
    setup = client.mfa.add_device()
    totp = pyotp.TOTP(setup.secret)
    client.mfa.verify_device(totp.at(clock.now()))
    clock.advance(30)  # the enrolment code's step is spent; the prompt needs the next one
    return client, totp


def _show_in_thread(client: Client, urls: queue.Queue[str]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["token"] = client.ui.mfa.show(create_mfa_token=True, browser=True, open_url=urls.put, timeout=30)
        except Exception as err:  # reported to the test thread
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_wrong_then_right_totp_code_in_the_hosted_prompt(
    live: LiveServer, env: EnvFixture, clock: FrozenClock, page: Any
) -> None:
    client, totp = _client_with_totp(live, env, clock)
    with pytest.raises(MfaRequiredError):
        client.users.update(alias="before-mfa")

    urls: queue.Queue[str] = queue.Queue()
    thread, outcome = _show_in_thread(client, urls)
    page.goto(urls.get(timeout=10))
    right = totp.at(clock.now())
    page.fill("#totp-code", "000000" if right != "000000" else "111111")
    page.click("#totp-submit")
    assert "not accepted" in page.inner_text("#error")
    page.fill("#totp-code", right)
    page.click("#totp-submit")
    assert page.inner_text("#result") == "Verified"
    thread.join(timeout=10)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["token"] and client.mfa.get_mfa_token() == outcome["token"]
    assert client.users.update(alias="after-mfa")["alias"] == "after-mfa"  # token applied by itself
    assert client.mfa.get_mfa_token() is None  # single-use: dropped once spent
    client.close()


def test_recovery_code_in_the_hosted_prompt(live: LiveServer, env: EnvFixture, clock: FrozenClock, page: Any) -> None:
    client, _ = _client_with_totp(live, env, clock)
    code = client.mfa.get_recovery_codes()[0]
    urls: queue.Queue[str] = queue.Queue()
    thread, outcome = _show_in_thread(client, urls)
    page.goto(urls.get(timeout=10))
    page.click("summary")
    page.fill("#recovery-code", code.lower())
    page.click("#recovery-submit")
    assert page.inner_text("#result") == "Verified"
    thread.join(timeout=10)
    assert outcome.get("token")
    assert client.users.update(alias="recovered")["alias"] == "recovered"
    client.close()


def test_prompt_page_refuses_a_non_loopback_callback(live: LiveServer, env: EnvFixture, page: Any) -> None:
    response = page.goto(f"{live.url}/ui/{env.id}/mfa/prompt?callback=http://evil.example:80/callback&state={'s' * 24}")
    assert response is not None and response.status == 422


@pytest.mark.parametrize("api_host", ["localhost", "127.0.0.1"])
def test_passkey_chosen_in_the_hosted_prompt(sqlite_url: str, tmp_path: Path, keyring: Keyring, api_host: str) -> None:
    """Choosing "Use a passkey" runs the hosted ceremony in the same tab (CDP virtual authenticator).

    With the README's ``base_url="http://127.0.0.1:8080"`` the prompt must still run on the
    passkey origin (``localhost``): a ceremony at 127.0.0.1 is refused by the browser."""
    from actionmfa.clock import SystemClock
    from actionmfa.sdk.authenticators import BrowserAuthenticator
    from tests.browser.devices import VirtualDevice
    from tests.live_server import free_port

    runtime = Runtime.build(
        ServerConfig(data_dir=tmp_path), clock=SystemClock(), keyring=keyring, db=Database(sqlite_url)
    )
    port = free_port()
    origin = f"http://localhost:{port}"  # a secure context and a valid rp id
    env = make_environment(
        runtime,
        "Prompt passkeys",
        settings={
            "security": {
                "passkeys": {"rpId": "localhost", "rpName": "ActionMFA test", "origins": [origin]},
                "mfa": {"actions": [{"action": "user.update", "required": True}]},
            }
        },
    )
    with serve(runtime, port), chromium_browser() as browser:
        device = VirtualDevice(browser)
        who = sign_in(runtime, env)
        client = Client(env.id, base_url=f"http://{api_host}:{port}")
        client.set_session({"jwt": who.jwt})
        try:
            client.passkeys.register(authenticator=BrowserAuthenticator(open_url=device.open_url()))
            with pytest.raises(MfaRequiredError):
                client.users.update(alias="no-proof")
            urls: queue.Queue[str] = queue.Queue()
            thread, outcome = _show_in_thread(client, urls)
            prompt_url = urls.get(timeout=10)
            assert prompt_url.startswith(f"{origin}/ui/")
            device.page.goto(prompt_url)
            device.page.click("#passkey-submit")  # redirected to the hosted passkey ceremony
            device.page.click("#start")
            assert device.page.inner_text("#result") == "Verified"
            thread.join(timeout=10)
            assert "error" not in outcome, outcome.get("error")
            assert client.users.update(alias="passkey-approved").alias == "passkey-approved"
        finally:
            device.close()
            client.close()
    runtime.db.dispose()
