"""A right TOTP code whose time step was already accepted gets its own answer (issue 12).

The README's order — enrol with a code, then authenticate at once — presents the enrolment's own
step again. It used to read "Invalid code"; it is 422 ``mfa_code_already_used`` with the wait until
the next step, and it still counts toward the lockout (DESIGN §8: a replayed code counts).
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn, make_environment, sign_in
from tests.mfa_support import code_now, enrol_totp, fresh_code


def _auth(client: TestClient, env: EnvFixture, user: SignedIn, code: str) -> tuple[int, dict[str, object]]:
    r = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers, json={"code": code})
    return r.status_code, r.json()


def test_the_enrolment_steps_code_answers_already_used(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    clock.set(clock.now().replace(second=10))  # 20 s before the next step
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    status, body = _auth(app_client, environment, signed_in_user, code_now(enrolled.secret, clock))
    assert status == 422
    assert body["code"] == "mfa_code_already_used"
    assert body["error"] == "This code was already used — wait for the next one"
    assert body["payload"] == {"retryAfterSeconds": 20}
    # the next step's code is accepted
    status, body = _auth(app_client, environment, signed_in_user, fresh_code(enrolled.secret, clock))
    assert status == 200, body


def test_a_wrong_code_is_still_invalid(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    right = totp.code_at(enrolled.secret, clock.now())
    status, body = _auth(app_client, environment, signed_in_user, "000000" if right != "000000" else "111111")
    assert (status, body["code"]) == (422, "mfa_invalid_code")


def test_reused_codes_count_toward_the_lockout(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    used = code_now(enrolled.secret, clock)
    for _ in range(5):
        status, body = _auth(app_client, environment, signed_in_user, used)
        assert (status, body["code"]) == (422, "mfa_code_already_used")
    status, body = _auth(app_client, environment, signed_in_user, fresh_code(enrolled.secret, clock))
    assert (status, body["code"]) == (429, "mfa_rate_limited")


def test_the_totp_issuer_is_the_apps_display_name(
    app_client: TestClient, runtime: Runtime, signed_in_user: SignedIn
) -> None:
    env = make_environment(runtime, "default", settings={"general": {"displayName": "Acme Wallet"}})
    user = sign_in(runtime, env)
    r = app_client.get(env.sdk("/users/mfa/register/totp"), headers=user.headers)
    assert r.status_code == 200, r.text
    uri = r.json()["uri"]
    assert uri.startswith("otpauth://totp/Acme%20Wallet%3A") and "issuer=Acme%20Wallet" in uri, uri
    assert "default" not in uri
