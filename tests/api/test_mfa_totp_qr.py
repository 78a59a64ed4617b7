"""Security review: the TOTP QR code is rendered from the caller's own pending device (``deviceId``);
the secret is never in a URL, where access logs would record it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.qr import qr_png, qr_svg
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn, sign_in
from tests.mfa_support import enrol_totp, set_mfa

Client = TestClient
QR = "/users/mfa/register/totp/qr"


def test_qr_of_the_pending_device_encodes_its_uri(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=signed_in_user.headers).json()
    r = app_client.get(environment.sdk(QR), params={"deviceId": reg["id"]}, headers=signed_in_user.headers)
    assert r.status_code == 200 and r.content == qr_svg(reg["uri"])
    assert r.headers["content-type"].startswith("image/svg+xml") and r.headers["cache-control"] == "no-store"
    r = app_client.get(
        environment.sdk(QR), params={"deviceId": reg["id"], "format": "png"}, headers=signed_in_user.headers
    )
    assert r.status_code == 200 and r.content == qr_png(reg["uri"]) and r.headers["content-type"] == "image/png"


def test_uri_parameter_is_gone(app_client: Client, environment: EnvFixture, signed_in_user: SignedIn) -> None:
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=signed_in_user.headers).json()
    r = app_client.get(environment.sdk(QR), params={"uri": reg["uri"]}, headers=signed_in_user.headers)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "invalid_request", "query.deviceId")


def test_qr_refuses_other_users_verified_and_unknown_devices(
    app_client: Client,
    runtime: Runtime,
    environment: EnvFixture,
    signed_in_user: SignedIn,
    clock: FrozenClock,
) -> None:
    bob = sign_in(runtime, environment)
    bobs = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=bob.headers).json()
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    for device_id in (bobs["id"], enrolled.device_id, "no-such-device"):
        r = app_client.get(environment.sdk(QR), params={"deviceId": device_id}, headers=signed_in_user.headers)
        assert (r.status_code, r.json()["code"]) == (404, "mfa_device_not_found"), device_id
    assert app_client.get(environment.sdk(QR), params={"deviceId": bobs["id"]}, headers=bob.headers).status_code == 200


def test_qr_needs_a_full_session_once_the_user_has_a_method(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    from actionmfa.services.mfa.methods import sign_in_scope

    enrol_totp(app_client, environment, signed_in_user, clock)
    set_mfa(runtime, environment, enabled=True)
    with runtime.db.write() as uow:
        env = runtime.environments.get(uow, environment.id)
        issued = runtime.sessions.start(
            uow, env, signed_in_user.user, auth_method="email", scope=sign_in_scope(uow, env, signed_in_user.user)
        )
    pending = SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)
    r = app_client.get(environment.sdk(QR), params={"deviceId": "any"}, headers=pending.headers)
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")


def test_signup_enrolment_session_sees_its_qr(app_client: Client, runtime: Runtime, environment: EnvFixture) -> None:
    from actionmfa.services.mfa.methods import sign_in_scope

    set_mfa(runtime, environment, enrollment="signup")
    user = sign_in(runtime, environment)
    with runtime.db.write() as uow:
        env = runtime.environments.get(uow, environment.id)
        issued = runtime.sessions.start(
            uow, env, user.user, auth_method="email", scope=sign_in_scope(uow, env, user.user)
        )
    pending = SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=pending.headers).json()
    r = app_client.get(environment.sdk(QR), params={"deviceId": reg["id"]}, headers=pending.headers)
    assert r.status_code == 200 and r.content == qr_svg(reg["uri"])
