"""``client.mfa``, ``client.step_up`` and ``client.ui.mfa`` against the app (tokens applied automatically)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.domain.actions import MFAAction
from actionmfa.errors import MfaInvalidCodeError, MfaRateLimitedError, MfaRequiredError, TotpDeviceExistsError
from actionmfa.factors import totp
from actionmfa.sdk import AsyncClient, Client
from actionmfa.sdk.errors import PromptUnavailableError
from actionmfa.sdk.ui import MfaPrompt
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, sign_in
from tests.mfa_support import require_actions


@pytest.fixture
def client(app_client: TestClient, runtime: Runtime, environment: EnvFixture, clock: FrozenClock) -> Client:
    clock.set(datetime.now(UTC).replace(microsecond=0))  # elevated tokens' exp is read against the wall clock
    user = sign_in(runtime, environment)
    c = Client(environment.id, http_client=app_client)
    c.set_session({"jwt": user.jwt, "expiresAt": 2**40})
    return c


def _next(secret: str, clock: FrozenClock) -> str:
    clock.advance(30)
    return totp.code_at(secret, clock.now())


def _enrol(client: Client, clock: FrozenClock) -> tuple[str, str, list[str]]:
    setup = client.mfa.add_device()
    assert setup.uri.startswith("otpauth://totp/") and "<svg" in setup.qr_svg().decode()
    assert "█" in setup.qr_terminal() or "▀" in setup.qr_terminal()
    client.mfa.authenticate_device(code=totp.code_at(setup.secret, clock.now()), device_id=setup.id)
    codes = client.mfa.get_recovery_codes()
    assert len(codes) == 10
    client.mfa.complete_acknowledgement()
    return setup.id, setup.secret, codes


def test_full_story_tokens_applied_automatically(
    client: Client, runtime: Runtime, environment: EnvFixture, clock: FrozenClock
) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    client.mfa.on("mfaCompletionSuccess", lambda p: events.append(("ok", p)))
    client.mfa.on("mfaCompletionFailure", lambda p: events.append(("fail", p)))
    assert client.mfa.is_required_for_action(mfa_action=MFAAction.USER_UPDATE) is False
    device_id, secret, codes = _enrol(client, clock)
    assert events[0][0] == "ok" and events[0][1]["deviceId"] == device_id
    [device] = client.mfa.get_user_devices()
    assert device.verified and device.default and device.id == device_id
    with pytest.raises(TotpDeviceExistsError):
        client.mfa.add_device()

    require_actions(runtime, environment, "user.update")
    assert client.mfa.is_required_for_action(mfa_action="user.update") is True
    with pytest.raises(MfaRequiredError):
        client.users.update(alias="a")
    token = client.mfa.authenticate_device(code=_next(secret, clock), create_mfa_token=True)
    assert token and client.mfa.get_mfa_token() == token
    assert client.users.update(alias="b")["alias"] == "b"
    assert client.mfa.get_mfa_token() is None  # single-use: dropped once spent
    with pytest.raises(MfaRequiredError):
        client.users.update(alias="c")

    persistent = client.mfa.authenticate_device(code=_next(secret, clock), create_mfa_token={"single_use": False})
    client.users.update(alias="d")
    client.users.update(alias="e")
    assert client.mfa.get_mfa_token() == persistent

    with pytest.raises(MfaInvalidCodeError):
        client.mfa.authenticate_device(code="000000" if _next(secret, clock) != "000000" else "111111")
    assert events[-1][0] == "fail"

    # recovery code, case-insensitively
    client.mfa.authenticate_recovery_code(code=codes[0].lower(), create_mfa_token=True)
    new_codes = client.mfa.get_new_recovery_codes()  # spends the single-use token
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)


def test_step_up_elevated_token_wins_and_single_use_dropped(
    client: Client, runtime: Runtime, environment: EnvFixture, clock: FrozenClock
) -> None:
    _, secret, _ = _enrol(client, clock)
    require_actions(runtime, environment, "user.update", tokenBehavior="single_use")
    check = client.step_up.check("user:update")
    assert check.is_required and check.credentials[0].format == "totp"
    persistent = client.mfa.authenticate_device(code=_next(secret, clock), create_mfa_token={"single_use": False})
    elevated = client.step_up.authenticate(requested_scopes=["user:update"], code=_next(secret, clock))
    assert elevated and client.tokens.elevated
    client.users.update(alias="x")  # carried the elevated token only
    assert client.tokens.elevated == [] and client.mfa.get_mfa_token() == persistent
    client.users.update(alias="y")  # now the persistent MFA token
    assert client.step_up.check("not-a-scope").is_required is True  # failure means "required"


def test_delete_device_with_explicit_token(client: Client, clock: FrozenClock) -> None:
    device_id, secret, _ = _enrol(client, clock)
    with pytest.raises(MfaRequiredError):
        client.mfa.delete_user_device(device_id)
    token = client.mfa.authenticate_device(code=_next(secret, clock), create_mfa_token=True)
    client.tokens.clear()
    client.mfa.delete_user_device(device_id, token)
    assert client.mfa.get_user_devices() == []


def test_terminal_prompt_retries_and_reports_lockout(client: Client, clock: FrozenClock) -> None:
    _, secret, codes = _enrol(client, clock)
    good = _next(secret, clock)
    answers = iter(["12345a", "000000" if good != "000000" else "111111", good])
    out = io.StringIO()
    prompt = MfaPrompt(client, prompt=lambda _: next(answers), out=out)
    token = prompt.show(create_mfa_token=True)
    assert token and client.mfa.get_mfa_token() == token
    text = out.getvalue()
    assert text.count("Invalid code. Please try again.") == 2 and "Verified." in text

    out = io.StringIO()
    prompt = MfaPrompt(client, prompt=lambda _: "ZZZZZZZZZZ", out=out)
    with pytest.raises(MfaInvalidCodeError):
        prompt.show(max_attempts=5)
    with pytest.raises(MfaRateLimitedError):
        MfaPrompt(client, prompt=lambda _: codes[0], out=out).show(max_attempts=3)
    assert "Too many attempts" in out.getvalue()
    assert client.ui.mfa is not None


def test_async_client_same_surface(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, clock: FrozenClock
) -> None:
    user = sign_in(runtime, environment)

    async def run() -> None:
        c = AsyncClient(environment.id, http_client=app_client)
        c.sync.set_session({"jwt": user.jwt, "expiresAt": 2**40})
        setup = await c.mfa.add_device()
        await c.mfa.authenticate_device(code=totp.code_at(setup.secret, clock.now()))
        assert len(await c.mfa.get_recovery_codes()) == 10
        assert (await c.step_up.check("wallet:sign")).is_required is False

    asyncio.run(run())


def test_adding_totp_after_a_passkey_applies_the_stored_token_to_both_steps(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, clock: FrozenClock
) -> None:
    from actionmfa.sdk.authenticators import SoftwareAuthenticator

    origin = "http://localhost:8080"
    c = Client(environment.id, base_url=origin, http_client=app_client)
    c.set_session({"jwt": sign_in(runtime, environment).jwt, "expiresAt": 2**40})
    keys = SoftwareAuthenticator(origin=origin)
    c.passkeys.register(authenticator=keys)
    c.passkeys.authenticate_mfa(authenticator=keys, create_mfa_token={"single_use": False})
    setup = c.mfa.add_device()  # credential:link: the persistent MFA token is applied
    device = c.mfa.verify_device(totp.code_at(setup.secret, clock.now()))  # and here again
    assert device.id == setup.id and device.verified


def test_terminal_prompt_says_a_reused_code_was_used_and_waits_for_the_next_step(
    client: Client, clock: FrozenClock
) -> None:
    """Enrol, then answer the prompt at once with the same step's code (the README's order)."""
    setup = client.mfa.add_device()
    clock.set(clock.now().replace(second=5))
    client.mfa.verify_device(totp.code_at(setup.secret, clock.now()))
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # the prompt waits for the next step: move the server's clock
        waited.append(seconds)
        clock.advance(seconds)

    out = io.StringIO()
    prompt = MfaPrompt(client, prompt=lambda _: totp.code_at(setup.secret, clock.now()), out=out, sleep=sleep)
    token = prompt.show(create_mfa_token=True)
    assert token and client.mfa.get_mfa_token() == token
    text = out.getvalue()
    assert "This code was already used — wait for the next one (25 s)." in text and "Verified." in text
    assert "Invalid code" not in text and waited == [25]


def test_terminal_prompt_without_a_tty_is_a_clear_error(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # e.g. run under a service manager or CI
    with pytest.raises(PromptUnavailableError) as caught:
        client.ui.mfa.show(create_mfa_token=True)
    assert caught.value.code == "mfa_prompt_unavailable" and "browser=True" in caught.value.message

    def closed(_: str) -> str:
        raise EOFError

    with pytest.raises(PromptUnavailableError):
        MfaPrompt(client, prompt=closed, out=io.StringIO()).show()
