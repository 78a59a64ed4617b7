"""The hot routes read the session row in their use case's own transaction (issue 15: one
transaction, one thread hop), the JWT verified before it. A session that ended is refused with 401
exactly as before — before any code is checked or counted, any token or challenge spent, any row
written — and a bad JWT is still refused before the body is looked at."""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.domain.actions import SessionScope
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from tests.api.passkey_helpers import ORIGIN, PasskeyUser
from tests.conftest import EnvFixture, SignedIn
from tests.mfa_support import enrol_totp, fresh_code, mfa_auth, require_actions


def _revoke(runtime: Runtime, user: SignedIn) -> None:
    with runtime.db.write() as uow:
        assert uow.sessions.revoke(user.session_id, runtime.clock.now())


def _rows(runtime: Runtime) -> dict[str, int]:
    with runtime.db.read() as uow:
        tables = (m.audit_log, m.mfa_failures, m.mfa_tokens, m.mfa_devices)
        return {t.name: len(uow.conn.execute(t.select()).all()) for t in tables}


def _last_step(runtime: Runtime, device_id: str) -> int | None:
    with runtime.db.read() as uow:
        row = uow.conn.execute(m.mfa_devices.select().where(m.mfa_devices.c.id == device_id)).one()
        return row.last_step  # type: ignore[no-any-return]


def test_ended_session_refused_before_the_code(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    enrolled = enrol_totp(client, env, user, clock)
    step = _last_step(runtime, enrolled.device_id)
    _revoke(runtime, user)
    before = _rows(runtime)
    for _ in range(7):  # more than the lockout's five: none is counted
        r = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers, json={"code": "000000"})
        assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    code = fresh_code(enrolled.secret, clock)
    r = client.post(env.sdk("/users/mfa/auth/totp"), headers=user.headers,
                    json={"code": code, "createMfaToken": {"singleUse": True}})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    r = client.post(
        env.sdk("/users/mfa/auth/recovery"), headers=user.headers, json={"code": enrolled.recovery_codes[0]}
    )
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    assert client.get(env.sdk("/users"), headers=user.headers).status_code == 401
    assert client.put(env.sdk("/users"), headers=user.headers, json={"alias": "x"}).status_code == 401
    assert _rows(runtime) == before  # nothing counted, spent, minted or audited
    assert _last_step(runtime, enrolled.device_id) == step


def test_ended_session_spends_no_token(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    require_actions(runtime, env, "user.update")
    enrolled = enrol_totp(client, env, user, clock)
    token = mfa_auth(client, env, user, enrolled, clock, createMfaToken={"singleUse": True})["mfaToken"]
    _revoke(runtime, user)
    r = client.put(env.sdk("/users"), headers={**user.headers, "x-mfa-auth-token": token}, json={"alias": "x"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    with runtime.db.read() as uow:
        assert uow.conn.execute(m.mfa_tokens.select().where(m.mfa_tokens.c.used_at.is_not(None))).all() == []


def test_pending_session_put_users_needs_mfa(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    enrol_totp(client, env, user, clock)
    with runtime.db.write() as uow:  # back to waiting for session MFA
        uow.sessions.set_scope(user.session_id, SessionScope.REQUIRES_ADDITIONAL_AUTH)
    r = client.put(env.sdk("/users"), headers=user.headers, json={"alias": "x"})
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")
    r = client.put(env.sdk("/users"), headers=user.headers, json={"metadata": {"x": "y" * 5000}})
    assert (r.status_code, r.json()["code"]) == (403, "mfa_required")  # the session before the body's size
    assert client.get(env.sdk("/users"), headers=user.headers).status_code == 200


def test_ended_session_passkey_auth_refused(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    pk = PasskeyUser(client, env, user)
    assert pk.register().status_code == 200
    assertion = pk.auth.get(pk.authentication_options(), origin=ORIGIN)
    _revoke(runtime, user)
    before = _rows(runtime)
    r = pk.post_assertion(assertion)
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    assert _rows(runtime) == before


def test_bad_jwt_refused_before_the_body(app_client: TestClient, environment: EnvFixture) -> None:
    for path in ("/users/mfa/auth/totp", "/users/mfa/auth/recovery", "/users/mfa/auth/passkey"):
        for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer a.b.c"}):
            r = app_client.post(environment.sdk(path), headers=headers, content=b"{not json")
            assert (r.status_code, r.json()["code"]) == (401, "unauthorized"), (path, headers)
    r = app_client.put(environment.sdk("/users"), headers={"Authorization": "Bearer x"}, json={"alias": 5})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")


def test_live_session_still_authenticates(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    enrolled = enrol_totp(client, env, user, clock)
    body = mfa_auth(client, env, user, enrolled, clock, createMfaToken={"singleUse": True})
    assert body["mfaToken"] and body["user"]["sessionId"] == user.session_id
