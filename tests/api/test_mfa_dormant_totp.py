"""Security review: a pending TOTP device started before the user's first method must never become a
second factor without ``credential:link`` proof (dormant device)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from actionmfa.clock import FrozenClock
from actionmfa.domain.actions import MFADeviceType
from actionmfa.factors import totp
from actionmfa.services.mfa.totp import totp_aad
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.mfa import MfaRepo
from tests.api.passkey_helpers import PasskeyUser
from tests.conftest import EnvFixture, SignedIn
from tests.mfa_support import code_now, enrol_totp

Client = TestClient


def _devices(client: Client, env: EnvFixture, who: SignedIn) -> list[dict[str, object]]:
    r = client.get(env.sdk("/users/mfa"), headers=who.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["devices"])


def _plant_pending(runtime: Runtime, who: SignedIn) -> tuple[str, str]:
    """A pending TOTP device next to a verified method, as an older release (or a race with the
    first method's verification) could have left behind: written straight to the store."""
    device_id, secret = str(uuid.uuid4()), totp.generate_secret()
    with runtime.db.write() as uow:
        MfaRepo(uow.conn).add_device(
            id=device_id,
            user_id=who.user.id,
            type=MFADeviceType.TOTP,
            secret_enc=runtime.keyring.encrypt(secret.encode(), aad=totp_aad(device_id)),
            now=runtime.clock.now(),
        )
    return device_id, secret


def test_pending_device_is_removed_when_a_passkey_is_registered(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    h = signed_in_user.headers
    dormant = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=h).json()  # no method: no gate
    assert PasskeyUser(app_client, environment, signed_in_user).register().status_code == 200
    assert _devices(app_client, environment, signed_in_user) == []
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"), headers=h, json={"code": code_now(dormant["secret"], clock)}
    )
    assert (r.status_code, r.json()["code"]) == (404, "mfa_device_not_found")
    r = app_client.post(
        environment.sdk("/users/mfa/register/totp"), headers=h, json={"code": code_now(dormant["secret"], clock)}
    )
    assert (r.status_code, r.json()["code"]) == (404, "mfa_device_not_found")
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log).where(audit_log.c.event == "mfa.device_deleted")).mappings().all()
    assert [r["outcome"] for r in rows] == ["pending_removed"]


def test_totp_enrolment_removes_other_pending_devices(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    reg = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=signed_in_user.headers).json()
    other, _ = _plant_pending(runtime, signed_in_user)
    r = app_client.post(
        environment.sdk("/users/mfa/auth/totp"),
        headers=signed_in_user.headers,
        json={"id": reg["id"], "code": code_now(reg["secret"], clock)},
    )
    assert r.status_code == 200, r.text
    assert [d["id"] for d in _devices(app_client, environment, signed_in_user)] == [reg["id"]] != [other]


def test_auth_totp_does_not_complete_a_pending_device_once_another_method_is_verified(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    assert PasskeyUser(app_client, environment, signed_in_user).register().status_code == 200
    device_id, secret = _plant_pending(runtime, signed_in_user)
    for body in ({"code": code_now(secret, clock)}, {"id": device_id, "code": code_now(secret, clock)}):
        r = app_client.post(environment.sdk("/users/mfa/auth/totp"), headers=signed_in_user.headers, json=body)
        assert (r.status_code, r.json()["code"]) == (404, "mfa_device_not_found")
    [device] = _devices(app_client, environment, signed_in_user)
    assert device["id"] == device_id and device["verified"] is False


def test_auth_totp_still_completes_the_first_method(
    app_client: Client, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)  # GET register, POST auth/totp
    [device] = _devices(app_client, environment, signed_in_user)
    assert device["id"] == enrolled.device_id and device["verified"] is True


def test_register_totp_verify_needs_credential_link_once_a_method_is_verified(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    alice = PasskeyUser(app_client, environment, signed_in_user)
    assert alice.register().status_code == 200
    device_id, secret = _plant_pending(runtime, signed_in_user)
    url = environment.sdk("/users/mfa/register/totp")
    r = app_client.post(url, headers=alice.headers(), json={"type": "totp", "code": code_now(secret, clock)})
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")
    r = app_client.post(
        url, headers=alice.headers(**{"x-mfa-auth-token": "nope"}), json={"code": code_now(secret, clock)}
    )
    assert (r.status_code, r.json()["code"]) == (403, "mfa_token_invalid")
    token = alice.authenticate(createMfaToken={"singleUse": True}).json()["mfaToken"]
    wrong = "000000" if code_now(secret, clock) != "000000" else "111111"
    r = app_client.post(url, headers=alice.headers(**{"x-mfa-auth-token": token}), json={"code": wrong})
    assert (r.status_code, r.json()["code"]) == (422, "mfa_invalid_code")  # and the token is not spent
    r = app_client.post(
        url, headers=alice.headers(**{"x-mfa-auth-token": token}), json={"code": code_now(secret, clock)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == device_id and r.json()["verified"] is True


def test_register_totp_verify_with_credential_link_elevated_token(
    app_client: Client, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    alice = PasskeyUser(app_client, environment, signed_in_user)
    assert alice.register().status_code == 200
    elevated = alice.authenticate(requestedScopes=["credential:link"]).json()["elevatedAccessToken"]
    r = app_client.get(
        environment.sdk("/users/mfa/register/totp"), headers=alice.headers(**{"x-dyn-elevated-access-token": elevated})
    )
    assert r.status_code == 200, r.text  # the GET spends that single-use token
    secret = r.json()["secret"]
    url = environment.sdk("/users/mfa/register/totp")
    r = app_client.post(url, headers=alice.headers(), json={"code": code_now(secret, clock)})
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")
    elevated = alice.authenticate(requestedScopes=["credential:link"]).json()["elevatedAccessToken"]
    r = app_client.post(
        url, headers=alice.headers(**{"x-dyn-elevated-access-token": elevated}), json={"code": code_now(secret, clock)}
    )
    assert r.status_code == 200 and r.json()["verified"] is True, r.text
