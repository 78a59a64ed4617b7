"""``client.passkeys`` with the software authenticator (sealed file) against the app."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.errors import MfaRequiredError, PasskeyInvalidError
from actionmfa.factors.soft_authenticator import EDDSA, SoftAuthenticator
from actionmfa.sdk.authenticators import BrowserAuthenticator, Ceremony, PasskeyCeremonyError, SoftwareAuthenticator
from actionmfa.sdk.client import Client
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, sign_in

ORIGIN = "http://localhost:8080"


@pytest.fixture
def client(app_client: TestClient, runtime: Runtime, environment: EnvFixture, clock: FrozenClock) -> Client:
    # The SDK sorts elevated tokens by their exp against the wall clock: keep the server's near it.
    clock.set(datetime.now(UTC))
    signed_in_user = sign_in(runtime, environment)
    c = Client(environment.id, base_url=ORIGIN, http_client=app_client)
    c.set_session({"jwt": signed_in_user.jwt, "expiresAt": 2**40})
    return c


def test_register_authenticate_delete_with_a_sealed_key_file(client: Client, tmp_path: Path) -> None:
    keys = SoftwareAuthenticator(tmp_path / "agent-passkey.json", "s3cret passphrase", origin=ORIGIN, algorithm=EDDSA)
    done = client.passkeys.register(authenticator=keys)
    assert done.user["id"] and done.mfa_token is None and client.session.jwt
    [passkey] = client.passkeys.get()
    assert passkey.algorithm == EDDSA and not passkey.possibly_cloned

    # The counter lives in the file: a fresh object on the same file keeps counting.
    again = SoftwareAuthenticator(tmp_path / "agent-passkey.json", "s3cret passphrase", origin=ORIGIN)
    verification = client.passkeys.authenticate_mfa(authenticator=again, create_mfa_token=True)
    assert verification.mfa_token and client.tokens.get_mfa_token() == verification.mfa_token
    [cred] = SoftAuthenticator.load(tmp_path / "agent-passkey.json", "s3cret passphrase").credentials.values()
    assert cred.sign_count == 1

    renamed = client.passkeys.update(passkey.id, alias="build agent")
    assert renamed.alias == "build agent"
    client.passkeys.delete(passkey.id)  # the stored single-use token is applied, then dropped
    assert client.passkeys.get() == []
    assert client.tokens.get_mfa_token() is None


def test_delete_without_token_raises_typed_error(client: Client) -> None:
    keys = SoftwareAuthenticator(origin=ORIGIN)
    client.passkeys.register(authenticator=keys)
    [passkey] = client.passkeys.get()
    with pytest.raises(MfaRequiredError):
        client.passkeys.delete(passkey.id)
    client.passkeys.authenticate_mfa(authenticator=keys, requested_scopes=["credential:unlink"])
    client.passkeys.delete(passkey.id)


def test_wrong_origin_is_a_typed_passkey_error(client: Client) -> None:
    with pytest.raises(PasskeyInvalidError) as exc:
        client.passkeys.register(authenticator=SoftwareAuthenticator(origin="https://elsewhere.example"))
    assert exc.value.code == "passkey_invalid" and exc.value.status_code == 422


def _page_driver(app_client: TestClient, keys: SoftwareAuthenticator) -> Any:
    """Play the browser: load the hosted page, answer its embedded options, post the form back."""

    def open_url(url: str) -> None:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == ORIGIN  # a passkey origin, not the API's 127.0.0.1
        page = app_client.get(f"{parts.path}?{parts.query}")
        assert page.status_code == 200
        options = json.loads(re.search(r'id="ceremony-options">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
        kind = re.search(r'name="kind" value="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
        form = dict(parse_qsl(parts.query))
        ceremony = Ceremony(kind=kind, options=options, environment_id="", base_url=ORIGIN)
        credential = keys.run(ceremony)
        r = httpx.post(form["callback"], data={"state": form["state"], "credential": json.dumps(credential)})
        assert r.status_code == 200 and "Done" in r.text
        # A second delivery (or a guessed state) is refused by the one-shot receiver.
        assert httpx.post(form["callback"], data={"state": form["state"], "credential": "{}"}).status_code == 400

    return open_url


def test_browser_authenticator_hand_back_over_loopback(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture
) -> None:
    who = sign_in(runtime, environment)
    # The API is reached on 127.0.0.1 (not a passkey origin): the page must open on the origin.
    client = Client(environment.id, base_url="http://127.0.0.1:8080", http_client=app_client)
    client.set_session({"jwt": who.jwt, "expiresAt": 2**40})
    browser = BrowserAuthenticator(open_url=_page_driver(app_client, SoftwareAuthenticator(origin=ORIGIN)), timeout=10)
    client.passkeys.register(authenticator=browser)
    assert client.passkeys.authenticate_mfa(authenticator=browser, create_mfa_token=True).mfa_token


def test_browser_authenticator_reports_a_cancelled_ceremony(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture
) -> None:
    who = sign_in(runtime, environment)
    client = Client(environment.id, base_url=ORIGIN, http_client=app_client)
    client.set_session({"jwt": who.jwt, "expiresAt": 2**40})

    def cancel(url: str) -> None:
        form = dict(parse_qsl(urlsplit(url).query))
        httpx.post(form["callback"], data={"state": form["state"], "error": "NotAllowedError"})

    with pytest.raises(PasskeyCeremonyError, match="NotAllowedError"):
        client.passkeys.register(authenticator=BrowserAuthenticator(open_url=cancel, timeout=10))
