"""MFA core over HTTP: enrolment, auth, recovery, tokens, the gate, lockout, session MFA, admin."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.domain.actions import SessionScope
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn, sign_in
from tests.mfa_support import code_now, enrol_totp, fresh_code, mfa_auth, require_actions, set_mfa

Client = TestClient


@pytest.fixture
def runtime(runtime_any: Runtime) -> Runtime:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return runtime_any


def _put_user(client: Client, env: EnvFixture, user: SignedIn, **headers: str) -> tuple[int, dict[str, object]]:
    r = client.put(env.sdk("/users"), headers={**user.headers, **headers}, json={"alias": "x"})
    return r.status_code, r.json()


# -- enrolment -------------------------------------------------------------------------------------
def test_register_returns_secret_and_otpauth_uri(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    r = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=signed_in_user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "type", "secret", "uri"} and body["type"] == "totp"
    parts = urlsplit(body["uri"])
    # the issuer is the app's name (default: the passkey rp name), not the environment's name "Acme"
    assert unquote(parts.path) == f"/ActionMFA:{signed_in_user.user.email}"
    q = parse_qs(parts.query)
    assert q["secret"] == [body["secret"]] and q["issuer"] == ["ActionMFA"]
    qr = app_client.get(
        environment.sdk("/users/mfa/register/totp/qr"), params={"deviceId": body["id"]}, headers=signed_in_user.headers
    )
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.headers["cache-control"] == "no-store" and body["secret"] not in str(qr.request.url)
    png = app_client.get(
        environment.sdk("/users/mfa/register/totp/qr"),
        params={"deviceId": body["id"], "format": "png"},
        headers=signed_in_user.headers,
    )
    assert png.content.startswith(b"\x89PNG")


def test_legacy_register_verify_then_recovery_codes_and_acknowledgement(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    h = signed_in_user.headers
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h).json()
    r = app_client.post(
        environment.sdk("/users/mfa/register/totp"),
        headers=h,
        json={"type": "totp", "code": "000000" if code_now(reg["secret"], clock) != "000000" else "1"},
    )
    assert r.status_code == 422 and r.json()["code"] == "mfa_invalid_code"
    r = app_client.post(
        environment.sdk("/users/mfa/register/totp"),
        headers=h,
        json={"type": "totp", "code": code_now(reg["secret"], clock)},
    )
    assert r.status_code == 200, r.text
    device = r.json()
    assert device["id"] == reg["id"] and device["verified"] is True and device["default"] is True
    assert "secret" not in device
    codes = app_client.get(environment.sdk("/users/mfa/recovery"), headers=h).json()
    assert codes["count"] == 10 and len(set(codes["recoveryCodes"])) == 10
    assert app_client.get(environment.sdk("/users"), headers=h).json()["mfaBackupCodeAcknowledgement"] == "pending"
    r = app_client.put(environment.sdk("/users"), headers=h, json={"mfaBackupCodeAcknowledgement": "complete"})
    assert r.status_code == 200 and r.json()["user"]["mfaBackupCodeAcknowledgement"] == "complete"
    r = app_client.get(environment.sdk("/users/mfa/recovery"), headers=h)
    assert r.status_code == 409 and r.json()["code"] == "recovery_codes_acknowledged"


def test_second_verified_totp_is_409_and_pending_is_replaced(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    h = signed_in_user.headers
    first = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h).json()
    second = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h).json()
    devices = app_client.get(environment.sdk("/users/mfa"), headers=h).json()
    assert devices["count"] == 1 and devices["devices"][0]["id"] == second["id"] != first["id"]
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=h,
        json={"id": first["id"], "code": code_now(first["secret"], clock)},
    )
    assert r.status_code == 404 and r.json()["code"] == "mfa_device_not_found"
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=h,
        json={"id": second["id"], "code": code_now(second["secret"], clock)},
    )
    assert r.status_code == 200
    r = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h)
    assert r.status_code == 409 and r.json()["code"] == "totp_device_exists"


def test_secret_is_encrypted_at_rest(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    from sqlalchemy import select

    from actionmfa.store.mfa_tables import mfa_devices, recovery_codes

    with runtime.db.read() as uow:
        stored = uow.conn.execute(select(mfa_devices.c.secret_enc)).scalar_one()
        hashes = [r.code_hash for r in uow.conn.execute(select(recovery_codes))]
    assert enrolled.secret not in stored and stored.startswith("v1.")
    assert not set(enrolled.recovery_codes) & set(hashes)


# -- authentication and replay ----------------------------------------------------------------------
def test_auth_keeps_session_and_refuses_replay(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    code = fresh_code(enrolled.secret, clock)
    r = app_client.post(environment.sdk("/users/mfa/auth/totp"), headers=signed_in_user.headers, json={"code": code})
    assert r.status_code == 200
    body = r.json()
    assert pyjwt.decode(body["jwt"], options={"verify_signature": False})["sid"] == signed_in_user.session_id
    assert "mfaToken" not in body and "elevatedAccessToken" not in body
    r = app_client.post(environment.sdk("/users/mfa/auth/totp"), headers=signed_in_user.headers, json={"code": code})
    assert r.status_code == 422 and r.json()["code"] == "mfa_code_already_used"
    # the previous step's code after a newer one was used: refused too
    clock.advance(30)
    step = totp.time_step(clock.now())
    older = totp.code_at_step(enrolled.secret, step - 1)
    r = app_client.post(environment.sdk("/users/mfa/auth/totp"), headers=signed_in_user.headers, json={"code": older})
    assert r.status_code == 422


# -- the gate ---------------------------------------------------------------------------------------
def test_single_use_mfa_token_gates_user_update_once(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    status, body = _put_user(app_client, environment, signed_in_user)
    assert (status, body["code"]) == (403, "mfa_required") and body["error"] == "MFA required"
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": True})[
        "mfaToken"
    ]
    assert len(token) >= 43
    assert _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": token})[0] == 200
    status, body = _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": token})
    assert (status, body["code"]) == (403, "mfa_token_invalid")
    status, body = _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": "nope"})
    assert (status, body["code"]) == (403, "mfa_token_invalid")
    # acknowledging alone is never gated
    r = app_client.put(
        environment.sdk("/users"), headers=signed_in_user.headers, json={"mfaBackupCodeAcknowledgement": "complete"}
    )
    assert r.status_code == 200


def test_failed_action_does_not_spend_token(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": True})[
        "mfaToken"
    ]
    r = app_client.put(
        environment.sdk("/users"),
        headers={**signed_in_user.headers, "x-mfa-auth-token": token},
        json={"metadata": {"x": "y" * 5000}},
    )
    assert r.status_code == 422
    assert _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": token})[0] == 200


def test_action_not_required_ignores_tokens(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrol_totp(app_client, environment, signed_in_user, clock)
    assert _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": "garbage"})[0] == 200


def test_persistent_token_reusable_but_dead_after_logout_and_foreign_session_refused(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": False})[
        "mfaToken"
    ]
    hdr = {"x-mfa-auth-token": token}
    assert _put_user(app_client, environment, signed_in_user, **hdr)[0] == 200
    assert _put_user(app_client, environment, signed_in_user, **hdr)[0] == 200
    other = sign_in(runtime, environment, signed_in_user.user.email)  # same user, session B
    status, body = _put_user(app_client, environment, other, **hdr)
    assert (status, body["code"]) == (403, "mfa_token_invalid")
    with runtime.db.read() as uow:  # session A's context, captured while A is alive
        ctx_a = runtime.sessions.authenticate(uow, environment.id, signed_in_user.jwt)
    assert app_client.post(environment.sdk("/logout"), headers=signed_in_user.headers).status_code == 204
    # the token died with its session: refused even to a caller holding session A's context
    from actionmfa.domain.actions import MFAAction
    from actionmfa.domain.tokens import Proof, TokenRefusal
    from actionmfa.errors import MfaTokenInvalidError

    gate = runtime.services.core.gate
    with runtime.db.read() as uow, pytest.raises(TokenRefusal) as refusal:
        gate.tokens.check_mfa_token(uow, ctx_a, token, None)
    assert refusal.value.reason == "session_ended"
    with pytest.raises(MfaTokenInvalidError), runtime.db.write() as uow:
        gate.enforce(uow, ctx_a, MFAAction.USER_UPDATE, Proof(mfa_token=token))


def test_persistent_token_dead_after_session_expiry(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": False})[
        "mfaToken"
    ]
    with runtime.db.read() as uow:
        ctx = runtime.sessions.authenticate(uow, environment.id, signed_in_user.jwt)
    clock.advance(days=2)  # past the 24 h session lifetime
    from actionmfa.domain.actions import MFAAction
    from actionmfa.domain.tokens import Proof
    from actionmfa.errors import MfaTokenInvalidError

    with pytest.raises(MfaTokenInvalidError), runtime.db.write() as uow:
        runtime.services.core.gate.enforce(uow, ctx, MFAAction.USER_UPDATE, Proof(mfa_token=token))


def test_elevated_token_scope_expiry_and_single_use(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    wrong = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, requestedScopes=["wallet:sign"])[
        "elevatedAccessToken"
    ]
    claims = pyjwt.decode(wrong, options={"verify_signature": False})
    assert claims["scope"] == "wallet:sign" and claims["singleUse"] is True
    assert claims["exp"] - claims["iat"] == 300 and claims["sid"] == signed_in_user.session_id
    assert {"sub", "sid", "scope", "exp", "jti", "singleUse"} <= set(claims)
    status, body = _put_user(app_client, environment, signed_in_user, **{"x-dyn-elevated-access-token": wrong})
    assert (status, body["code"]) == (403, "mfa_token_invalid")
    # the elevated token is not a session token
    assert app_client.get(environment.sdk("/users"), headers={"Authorization": f"Bearer {wrong}"}).status_code == 401

    good = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, requestedScopes=["user:update"])[
        "elevatedAccessToken"
    ]
    good_claims = pyjwt.decode(good, options={"verify_signature": False})
    assert good_claims["singleUse"] is False and good_claims["exp"] - good_claims["iat"] == 600
    hdr = {"x-dyn-elevated-access-token": good}
    assert _put_user(app_client, environment, signed_in_user, **hdr)[0] == 200
    assert _put_user(app_client, environment, signed_in_user, **hdr)[0] == 200  # time_bound
    clock.advance(601)
    status, body = _put_user(app_client, environment, signed_in_user, **hdr)
    assert (status, body["code"]) == (403, "mfa_token_invalid")

    require_actions(runtime, environment, "user.update", tokenBehavior="single_use", tokenExpirySeconds=120)
    once = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, requestedScopes=["user:update"])[
        "elevatedAccessToken"
    ]
    c = pyjwt.decode(once, options={"verify_signature": False})
    assert c["singleUse"] is True and c["exp"] - c["iat"] == 120
    hdr = {"x-dyn-elevated-access-token": once}
    assert _put_user(app_client, environment, signed_in_user, **hdr)[0] == 200
    status, body = _put_user(app_client, environment, signed_in_user, **hdr)
    assert (status, body["code"]) == (403, "mfa_token_invalid")


def test_unknown_requested_scope_is_422_and_nothing_spent(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    code = fresh_code(enrolled.secret, clock)
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=signed_in_user.headers,
        json={"code": code, "requestedScopes": ["root:everything"]},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_scopes"
    r = app_client.post(environment.sdk("/users/mfa/auth/totp"), headers=signed_in_user.headers, json={"code": code})
    assert r.status_code == 200


def test_delete_device_needs_token(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    url = environment.sdk(f"/users/mfa/{enrolled.device_id}")
    r = app_client.delete(url, headers=signed_in_user.headers)
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"
    r = app_client.delete(url, headers={**signed_in_user.headers, "x-mfa-auth-token": ""})
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": True})[
        "mfaToken"
    ]
    assert app_client.get(url, headers=signed_in_user.headers).json()["verified"] is True
    assert app_client.put(url, headers=signed_in_user.headers).status_code == 204
    r = app_client.delete(url, headers={**signed_in_user.headers, "x-mfa-auth-token": token})
    assert r.status_code == 204
    r = app_client.get(url, headers=signed_in_user.headers)
    assert r.status_code == 404 and r.json()["code"] == "mfa_device_not_found"


# -- recovery codes -----------------------------------------------------------------------------------
def test_recovery_code_once_case_insensitive_and_regeneration(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    h = signed_in_user.headers
    code = enrolled.recovery_codes[0]
    r = app_client.post(
        environment.sdk("/users/mfa/auth/recovery"),
        headers=h,
        json={"code": code.lower(), "createMfaToken": {"singleUse": True}},
    )
    assert r.status_code == 200 and r.json()["mfaToken"]
    token = r.json()["mfaToken"]
    r = app_client.post(environment.sdk("/users/mfa/auth/recovery"), headers=h, json={"code": code})
    assert r.status_code == 422 and r.json()["code"] == "mfa_invalid_code"
    assert app_client.get(environment.sdk("/users/mfa/recovery"), headers=h).json()["count"] == 9
    r = app_client.post(environment.sdk("/users/mfa/recovery"), headers=h)
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"
    r = app_client.post(environment.sdk("/users/mfa/recovery"), headers={**h, "x-mfa-auth-token": token})
    assert r.status_code == 200 and r.json()["count"] == 10
    new_codes = r.json()["recoveryCodes"]
    r = app_client.post(
        environment.sdk("/users/mfa/auth/recovery"), headers=h, json={"code": enrolled.recovery_codes[1]}
    )
    assert r.status_code == 422
    r = app_client.post(environment.sdk("/users/mfa/auth/recovery"), headers=h, json={"code": new_codes[0]})
    assert r.status_code == 200


# -- lockout --------------------------------------------------------------------------------------------
def test_lockout_shared_across_routes_and_same_body(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    h = signed_in_user.headers
    clock.advance(30)
    good = code_now(enrolled.secret, clock)
    bad = "000000" if good != "000000" else "111111"
    for i in range(5):
        route, code = ("/users/mfa/auth/totp", bad) if i % 2 else ("/users/mfa/auth/recovery", "ZZZZZZZZZZ")
        r = app_client.post(environment.sdk(route), headers=h, json={"code": code})
        assert r.status_code == 422, (i, r.text)
    bodies = []
    for route, code in (
        ("/users/mfa/auth/totp", good),
        ("/users/mfa/auth/totp", bad),
        ("/users/mfa/auth/recovery", enrolled.recovery_codes[0]),
    ):
        r = app_client.post(environment.sdk(route), headers=h, json={"code": code})
        assert r.status_code == 429
        bodies.append(r.json())
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0]["code"] == "mfa_rate_limited"
    clock.advance(14 * 60)
    assert (
        app_client.post(
            environment.sdk("/users/mfa/auth/totp"), headers=h, json={"code": code_now(enrolled.secret, clock)}
        ).status_code
        == 429
    )
    clock.advance(60)
    assert (
        app_client.post(
            environment.sdk("/users/mfa/auth/totp"), headers=h, json={"code": code_now(enrolled.secret, clock)}
        ).status_code
        == 200
    )


def test_sliding_window_and_success_resets(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    h = signed_in_user.headers
    url = environment.sdk("/users/mfa/auth/recovery")
    for _ in range(4):
        assert app_client.post(url, headers=h, json={"code": "ZZZZZZZZZZ"}).status_code == 422
    clock.advance(301)  # the four fall out of the window
    for _ in range(4):
        assert app_client.post(url, headers=h, json={"code": "ZZZZZZZZZZ"}).status_code == 422
    mfa_auth(app_client, environment, signed_in_user, enrolled, clock)  # success resets
    for _ in range(4):
        assert app_client.post(url, headers=h, json={"code": "ZZZZZZZZZZ"}).status_code == 422
    assert app_client.post(url, headers=h, json={"code": enrolled.recovery_codes[0]}).status_code == 200


# -- session-based MFA ----------------------------------------------------------------------------------
def test_session_mfa_pending_scope_then_upgrade(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    set_mfa(runtime, environment, enabled=True)
    from actionmfa.services.mfa.methods import sign_in_scope

    with runtime.db.write() as uow:
        env = runtime.environments.get(uow, environment.id)
        scope = sign_in_scope(uow, env, signed_in_user.user)
        assert scope is SessionScope.REQUIRES_ADDITIONAL_AUTH
        issued = runtime.sessions.start(uow, env, signed_in_user.user, auth_method="email", scope=scope)
    pending = SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)
    assert (
        app_client.get(environment.sdk("/users"), headers=pending.headers).json()["scope"] == "requiresAdditionalAuth"
    )
    assert app_client.get(environment.sdk("/users/mfa"), headers=pending.headers).status_code == 200
    status, body = _put_user(app_client, environment, pending)
    assert (status, body["code"]) == (403, "mfa_required")
    r = app_client.post(environment.sdk("/stepUp/check"), headers=pending.headers, json={"scope": "wallet:sign"})
    assert r.status_code == 403
    body2 = mfa_auth(app_client, environment, pending, enrolled, clock)
    claims = pyjwt.decode(body2["jwt"], options={"verify_signature": False})
    assert claims["sid"] == pending.session_id and claims["scope"] == "user:basic"
    assert body2["user"]["scope"] == "user:basic"
    assert _put_user(app_client, environment, pending)[0] == 200  # old JWT, upgraded session row
    upgraded = SignedIn(user=pending.user, jwt=body2["jwt"], session_id=pending.session_id)
    assert _put_user(app_client, environment, upgraded)[0] == 200


def test_signup_enrollment_forces_pending_scope_for_user_without_method(
    runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    set_mfa(runtime, environment, enrollment="signup")
    from actionmfa.services.mfa.methods import sign_in_scope

    with runtime.db.read() as uow:
        env = runtime.environments.get(uow, environment.id)
        assert sign_in_scope(uow, env, signed_in_user.user) is SessionScope.REQUIRES_ADDITIONAL_AUTH


# -- requirement rule and step-up over the wire -------------------------------------------------------
@pytest.mark.parametrize("enrollment", ["none", "signup", "action"])
@pytest.mark.parametrize("action_required", [True, False])
@pytest.mark.parametrize("has_method", [True, False])
def test_is_required_for_action_route(
    app_client: Client,
    runtime: Runtime,
    environment: EnvFixture,
    signed_in_user: SignedIn,
    clock: FrozenClock,
    enrollment: str,
    action_required: bool,
    has_method: bool,
) -> None:
    if has_method:
        enrol_totp(app_client, environment, signed_in_user, clock)
    set_mfa(
        runtime,
        environment,
        enrollment=enrollment,
        actions=[{"action": "wallet.waas.sign", "required": action_required}],
    )
    r = app_client.post(
        environment.sdk("/mfa/isRequiredForAction"),
        headers=signed_in_user.headers,
        json={"mfaAction": "wallet.waas.sign"},
    )
    expected = action_required and (enrollment != "none" or has_method)
    assert r.status_code == 200 and r.json() == {"required": expected}
    r = app_client.post(environment.sdk("/stepUp/check"), headers=signed_in_user.headers, json={"scope": "wallet:sign"})
    assert r.status_code == 200 and r.json()["isRequired"] is expected
    if expected and has_method:
        assert r.json()["credentials"][0]["format"] == "totp"
        assert r.json()["defaultCredentialId"] == r.json()["credentials"][0]["id"]


def test_invalid_action_and_scope_are_422(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    r = app_client.post(
        environment.sdk("/mfa/isRequiredForAction"), headers=signed_in_user.headers, json={"mfaAction": "root"}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = app_client.post(environment.sdk("/stepUp/check"), headers=signed_in_user.headers, json={"scope": "root"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_scopes"


# -- admin reset and audit ------------------------------------------------------------------------------
def test_admin_reset_and_audit_log(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    require_actions(runtime, environment, "user.update")
    token = mfa_auth(app_client, environment, signed_in_user, enrolled, clock, createMfaToken={"singleUse": True})[
        "mfaToken"
    ]
    _put_user(app_client, environment, signed_in_user)  # denied
    _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": token})  # allowed
    for _ in range(5):
        app_client.post(
            environment.sdk("/users/mfa/auth/recovery"), headers=signed_in_user.headers, json={"code": "ZZZZZZZZZZ"}
        )
    admin = {"Authorization": f"Bearer {environment.admin_token}"}
    r = app_client.post(f"/api/v0/users/{signed_in_user.user.id}/mfa/reset", headers=signed_in_user.headers)
    assert r.status_code == 401
    r = app_client.post(f"/api/v0/users/{signed_in_user.user.id}/mfa/reset", headers=admin)
    assert r.status_code == 200
    assert app_client.get(environment.sdk("/users/mfa"), headers=signed_in_user.headers).json()["count"] == 0
    assert _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": token})[0] == 200  # no method
    r = app_client.post(
        environment.sdk("/users/mfa/auth/recovery"),
        headers=signed_in_user.headers,
        json={"code": enrolled.recovery_codes[0]},
    )
    assert r.status_code == 422  # lockout cleared; the codes are gone
    r = app_client.post("/api/v0/users/00000000-0000-0000-0000-000000000000/mfa/reset", headers=admin)
    assert r.status_code == 404

    events: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = app_client.get(f"/api/v0/environments/{environment.id}/audit", headers=admin, params=params).json()
        events.extend(page["events"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    names = [e["event"] for e in events]
    for expected in (
        "mfa.enrollment_started",
        "mfa.enrolled",
        "mfa.auth_succeeded",
        "mfa.auth_failed",
        "mfa.locked_out",
        "mfa_token.minted",
        "mfa_token.spent",
        "gate.allowed",
        "gate.denied",
        "mfa.reset",
        "mfa.recovery_codes_created",
    ):
        assert expected in names, expected
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    dump = json.dumps(events)
    for secret in (enrolled.secret, token, *enrolled.recovery_codes):
        assert secret not in dump
    denied = next(e for e in events if e["event"] == "gate.denied")
    assert denied["action"] == "user.update" and denied["outcome"] == "mfa_required"
    assert denied["sessionId"] == signed_in_user.session_id and denied["clientAddress"]


def test_signup_enrollment_pending_session_enrols_then_upgrades(
    app_client: Client, runtime: Runtime, environment: EnvFixture, clock: FrozenClock
) -> None:
    set_mfa(runtime, environment, enrollment="signup")
    from actionmfa.services.mfa.methods import sign_in_scope

    user = sign_in(runtime, environment)
    with runtime.db.write() as uow:
        env = runtime.environments.get(uow, environment.id)
        scope = sign_in_scope(uow, env, user.user)
        issued = runtime.sessions.start(uow, env, user.user, auth_method="email", scope=scope)
    pending = SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)
    assert _put_user(app_client, environment, pending)[1]["code"] == "mfa_required"
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=pending.headers).json()
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=pending.headers,
        json={"id": reg["id"], "code": code_now(reg["secret"], clock)},
    )
    assert r.status_code == 200 and r.json()["user"]["scope"] == "user:basic"
    assert r.json()["user"]["mfaBackupCodeAcknowledgement"] == "pending"
    assert _put_user(app_client, environment, pending)[0] == 200


def test_methods_and_digest_bound_token(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    h = signed_in_user.headers
    app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h)
    r = app_client.get(environment.sdk("/users/mfa/methods"), headers=h).json()
    assert r["userHasVerifiedMfaMethods"] is False and len(r["devices"]) == 1 and r["passkeys"] == []
    assert app_client.get(environment.sdk("/users/mfa/methods?verifiedOnly=true"), headers=h).json()["devices"] == []
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    r = app_client.get(environment.sdk("/users/mfa/methods?verifiedOnly=true"), headers=h).json()
    assert r["userHasVerifiedMfaMethods"] is True and r["devices"][0]["id"] == enrolled.device_id
    # a token bound to one payload digest does not authorise an unbound action
    require_actions(runtime, environment, "user.update")
    code = fresh_code(enrolled.secret, clock)
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"), headers=h, json={"code": code, "approvalDigest": "XYZ"}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"  # refused before the code is checked
    digest = "ab" * 32
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=h,
        json={"code": code, "approvalDigest": digest, "createMfaToken": {"singleUse": True}},
    )
    assert r.status_code == 200
    status, body = _put_user(app_client, environment, signed_in_user, **{"x-mfa-auth-token": r.json()["mfaToken"]})
    assert (status, body["code"]) == (403, "mfa_token_invalid")


# -- security review fixes ---------------------------------------------------------------------------
def _pending_session(runtime: Runtime, environment: EnvFixture, user: SignedIn) -> SignedIn:
    """A new sign-in of ``user`` (scope as sign-in decides it), without going through a route."""
    from actionmfa.services.mfa.methods import sign_in_scope

    with runtime.db.write() as uow:
        env = runtime.environments.get(uow, environment.id)
        issued = runtime.sessions.start(
            uow, env, user.user, auth_method="email", scope=sign_in_scope(uow, env, user.user)
        )
    return SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)


def pending_scope(client: Client, environment: EnvFixture, who: SignedIn) -> str:
    return str(client.get(environment.sdk("/users"), headers=who.headers).json()["scope"])


def test_recovery_codes_are_not_shown_to_a_session_waiting_for_session_mfa(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)  # acknowledgement stays pending
    set_mfa(runtime, environment, enabled=True)
    pending = _pending_session(runtime, environment, signed_in_user)
    assert pending_scope(app_client, environment, pending) == "requiresAdditionalAuth"
    r = app_client.get(environment.sdk("/users/mfa/recovery"), headers=pending.headers)
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")
    assert "recoveryCodes" not in r.json()
    mfa_auth(app_client, environment, pending, enrolled, clock)  # session MFA completed on that session
    r = app_client.get(environment.sdk("/users/mfa/recovery"), headers=pending.headers)
    assert r.status_code == 200 and sorted(r.json()["recoveryCodes"]) == sorted(enrolled.recovery_codes)
