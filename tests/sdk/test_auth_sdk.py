"""SDK sign-in: ``client.auth.*`` and ``client.users.me()`` against the ASGI app and a real server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from actionmfa.api.app import create_app
from actionmfa.clock import FrozenClock, to_epoch
from actionmfa.config import ServerConfig, SmtpConfig
from actionmfa.crypto import Keyring
from actionmfa.sdk import AsyncClient, Client
from actionmfa.sdk.auth import SignInResult
from actionmfa.sdk.errors import (
    InvalidRequestError,
    InvalidVerificationCodeError,
    UnauthorizedError,
    VerificationUsedError,
)
from actionmfa.sdk.users import SdkUser
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.conftest import EnvFixture, make_environment
from tests.mailsink import SmtpSink, free_port


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def live_clock() -> FrozenClock:
    # Frozen, but at the real time: the SDK compares session expiry with its own clock.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def sdk_runtime(sqlite_url: str, tmp_path: Path, live_clock: FrozenClock, keyring: Keyring,
                smtp: SmtpSink) -> Iterator[Runtime]:
    config = ServerConfig(data_dir=tmp_path / "data", smtp=SmtpConfig(host="127.0.0.1", port=smtp.port))
    rt = Runtime.build(config, clock=live_clock, keyring=keyring, db=Database(sqlite_url))
    yield rt
    rt.db.dispose()


@pytest.fixture
def asgi(sdk_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(sdk_runtime, migrate=False), raise_server_exceptions=False) as http:
        yield http


@pytest.fixture
def env(sdk_runtime: Runtime) -> EnvFixture:
    return make_environment(sdk_runtime)


@pytest.fixture
def client(asgi: TestClient, env: EnvFixture) -> Iterator[Client]:
    with Client(env.id, http_client=asgi) as c:
        yield c


def test_email_sign_in_me_and_logout(client: Client, smtp: SmtpSink, asgi: TestClient, env: EnvFixture) -> None:
    vid = client.auth.email.send_code("alice@example.com")
    assert client.auth.email.verification_uuid == vid
    result = client.auth.email.verify(smtp.last().code())
    assert isinstance(result, SignInResult) and not result.mfa_pending
    assert result.user.email == "alice@example.com" and result.user.scope == "user:basic"
    assert client.session.jwt == result.jwt and client.auth.signed_in
    me = client.users.me()
    assert isinstance(me, SdkUser) and me.id == result.user.id and me["email"] == "alice@example.com"
    old_jwt = result.jwt
    client.auth.logout()
    assert not client.auth.signed_in
    with pytest.raises(UnauthorizedError):
        client.users.me()
    r = asgi.get(env.sdk("/users"), headers={"Authorization": f"Bearer {old_jwt}"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    client.auth.logout()  # a second logout is a no-op


def test_typed_errors_carry_the_code(client: Client, smtp: SmtpSink) -> None:
    with pytest.raises(InvalidRequestError) as no_code:
        client.auth.email.verify("123456")
    assert no_code.value.code == "invalid_request"
    client.auth.email.send_code("bob@example.com")
    code = smtp.last().code()
    with pytest.raises(InvalidVerificationCodeError) as err:
        client.auth.email.verify(f"{(int(code) + 1) % 1_000_000:06d}")
    assert err.value.code == "invalid_verification_code" and err.value.status_code == 422
    assert err.value.request_id and len(err.value.request_id) == 32
    vid = client.auth.email.verification_uuid
    client.auth.email.verify(code)
    with pytest.raises(VerificationUsedError) as used:
        client.auth.email.verify(code, verification_uuid=vid)
    assert used.value.code == "verification_used" and used.value.status_code == 410


def test_external_sign_in(client: Client, sdk_runtime: Runtime, env: EnvFixture, live_clock: FrozenClock) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ext = make_environment(sdk_runtime, "Ext", {"security": {"externalAuth": {
        "enabled": True, "iss": "https://idp.test", "aud": "app", "publicKeyPem": pem.decode()}}})
    now = to_epoch(live_clock.now())
    claims = {"iss": "https://idp.test", "aud": "app", "sub": "u-1", "exp": now + 60}
    ext_client = Client(ext.id, http_client=client._http)
    result = ext_client.auth.external.sign_in(jwt.encode(claims, key, algorithm="ES256"))
    assert result.user.external_user_id == "u-1" and ext_client.users.me().id == result.user.id
    with pytest.raises(UnauthorizedError) as err:
        ext_client.auth.external.sign_in(jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"))
    assert err.value.code == "unauthorized" and err.value.status_code == 401


def test_sign_in_tells_the_sdk_of_pending_wallet_actions(client: Client, smtp: SmtpSink, sdk_runtime: Runtime,
                                                         env: EnvFixture) -> None:
    """Issue 13.2: the operator's delegation decision is in the sign-in answer itself
    (``verifiedCredentials[].walletProperties``), not only in ``GET /waas/wallets``."""
    client.auth.email.send_code("dora@example.com")
    first = client.auth.email.verify(smtp.last().code())
    assert first.pending_wallet_actions == {} and client.wallets.pending_actions() == {}
    now = sdk_runtime.clock.now()
    ids = {}
    with sdk_runtime.db.write() as uow:
        for scheme, pending in (("TWO_OF_THREE", "revoke_delegation"), ("TWO_OF_TWO", "approve_delegation"),
                                ("TWO_OF_TWO", None)):
            wallet_id = ids[pending] = str(uuid.uuid4())
            uow.wallets.add_wallet(id=wallet_id, environment_id=env.id, user_id=first.user.id, chain="EVM",
                                   address="0x" + "ab" * 20, public_key="02" + "cd" * 32, server_share="sealed",
                                   key_version=2, lock_count=0, created_at=now, updated_at=now,
                                   threshold_scheme=scheme, pending_action=pending)
    client.auth.email.send_code("dora@example.com")
    again = client.auth.email.verify(smtp.last().code())  # the user's next sign-in
    expected = {ids["revoke_delegation"]: "revoke_delegation", ids["approve_delegation"]: "approve_delegation"}
    assert again.pending_wallet_actions == expected
    assert client.wallets.pending_actions() == expected  # kept from the sign-in answer, no request
    wallets = {c["id"]: c["walletProperties"] for c in again.user.verified_credentials if c["format"] == "blockchain"}
    assert wallets[ids["revoke_delegation"]]["settings"]["revokeOnNextSignOn"] is True
    assert wallets[ids["approve_delegation"]]["settings"]["reshareOnNextSignOn"] == "TWO_OF_THREE"
    assert wallets[ids[None]]["thresholdSignatureScheme"] == "TWO_OF_TWO"
    assert wallets[ids[None]]["settings"] == {"reshareOnNextSignOn": None, "revokeOnNextSignOn": False,
                                              "shouldRefreshOnNextSignOn": False}
    assert client.users.me().pending_wallet_actions == expected  # GET /users says the same


def test_session_is_refreshed_before_expiry(client: Client, smtp: SmtpSink, live_clock: FrozenClock) -> None:
    client.auth.email.send_code("carol@example.com")
    first = client.auth.email.verify(smtp.last().code())
    live_clock.advance(5)  # the server's clock moves on, so the refreshed session ends later
    # Pretend the session is about to end: within the client's refresh margin.
    client.session.expires_at = int(time.time()) + client.refresh_margin_seconds - 1
    client.users.me()
    assert client.session.jwt != first.jwt
    assert client.session.expires_at == first.expires_at + 5
    assert client.users.me().id == first.user.id


def test_async_client_has_the_same_surface(asgi: TestClient, env: EnvFixture, smtp: SmtpSink) -> None:
    async def flow() -> str:
        async with AsyncClient(env.id, http_client=asgi) as ac:
            await ac.auth.email.send_code("dave@example.com")
            result = await ac.auth.email.verify(smtp.last().code())
            me = await ac.users.me()
            await ac.auth.logout()
            assert me.id == result.user.id
            return me.id

    assert asyncio.run(flow())


def _wait_for_health(base_url: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll until the server answers (bounded); this waits for a process, not for time to pass."""
    deadline = time.monotonic() + 180  # cold start on a loaded 2-core machine can take over 30 s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not come up")


@pytest.mark.slow
def test_against_a_real_server_process(tmp_path: Path, smtp: SmtpSink) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env_vars = {
        **os.environ,
        "ACTIONMFA_DATA_DIR": str(data_dir),
        "ACTIONMFA_SMTP_HOST": "127.0.0.1",
        "ACTIONMFA_SMTP_PORT": str(smtp.port),
        "ACTIONMFA_MAIL_LOG": "false",
    }
    env_vars.pop("ACTIONMFA_DATABASE_URL", None)
    cli = [sys.executable, "-m", "actionmfa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cli, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for_health(base_url, proc)
        boot = json.loads((data_dir / "bootstrap.json").read_text())
        assert oct((data_dir / "bootstrap.json").stat().st_mode & 0o777) == "0o600"
        with Client(boot["environmentId"], base_url=base_url) as client:
            client.auth.email.send_code("erin@example.com")
            result = client.auth.email.verify(smtp.last().code())
            assert client.users.me().email == "erin@example.com" == result.user.email
            client.auth.logout()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert b"adminToken" in out  # first start prints the bootstrap credentials once
