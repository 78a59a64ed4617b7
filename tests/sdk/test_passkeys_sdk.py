"""``client.passkeys`` with the software authenticator (sealed file) against the app."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.errors import MfaRequiredError, PasskeyInvalidError
from actionmfa.factors.soft_authenticator import EDDSA, SoftAuthenticator
from actionmfa.sdk.authenticators import SoftwareAuthenticator
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
