"""Passkey routes end to end with the software authenticator (issue 4)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from actionmfa.clock import FrozenClock
from actionmfa.crypto import b64u_decode
from actionmfa.factors.soft_authenticator import EDDSA, ES256, SoftAuthenticator
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log, mfa_failures
from tests.api.passkey_helpers import ORIGIN, PasskeyUser, code, reason
from tests.conftest import EnvFixture, SignedIn, sign_in


@pytest.fixture
def alice(app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn) -> PasskeyUser:
    return PasskeyUser(app_client, environment, signed_in_user)


@pytest.fixture
def alice_with_passkey(alice: PasskeyUser) -> PasskeyUser:
    assert alice.register().status_code == 200
    return alice


@pytest.fixture
def bob_with_passkey(app_client: TestClient, runtime: Runtime, environment: EnvFixture) -> PasskeyUser:
    bob = PasskeyUser(app_client, environment, sign_in(runtime, environment))
    assert bob.register().status_code == 200
    return bob


def _audit_events(runtime: Runtime, event: str) -> list[dict[str, object]]:
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log).where(audit_log.c.event == event)).mappings().all()
    return [dict(r) for r in rows]


# -- registration -------------------------------------------------------------------------------


def test_registration_options_follow_webauthn_l3(alice_with_passkey: PasskeyUser) -> None:
    opts = alice_with_passkey.registration_options()
    assert opts["rp"] == {"id": "localhost", "name": "ActionMFA"}
    assert len(b64u_decode(opts["challenge"])) >= 32
    assert opts["timeout"] == 300_000
    assert opts["authenticatorSelection"]["userVerification"] == "required"
    assert [p["alg"] for p in opts["pubKeyCredParams"]] == [-7, -8, -257]
    [existing] = alice_with_passkey.passkeys()
    assert [c["id"] for c in opts["excludeCredentials"]] == [existing["credentialId"]]
    assert opts["ceremonyId"]


@pytest.mark.parametrize("algorithm", [ES256, EDDSA])
def test_register_is_an_mfa_authentication(alice: PasskeyUser, algorithm: int) -> None:
    r = alice.register(algorithm=algorithm, createMfaToken={"singleUse": True}, requestedScopes=["wallet:sign"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["jwt"] and body["mfaToken"] and body["elevatedAccessToken"]
    assert body["user"]["id"] == alice.who.user.id
    assert body["user"]["sessionId"] == alice.who.session_id  # MFA keeps the session
    [passkey] = alice.passkeys()
    assert passkey["algorithm"] == algorithm
    assert passkey["transports"] == ["internal"]
    assert passkey["origin"] == ORIGIN
    assert passkey["aaguid"] == "6f1e0c2a-9d2b-4c7e-8a31-b5d40e7c9a11"
    assert passkey["backupEligible"] is False


def test_register_accepts_dynamic_client_data_json_casing(alice: PasskeyUser) -> None:
    options = alice.registration_options()
    cred = alice.auth.create(options, origin=ORIGIN, client_data_key="clientDataJson")
    assert "clientDataJSON" not in cred["response"]
    assert alice.post_registration(cred).status_code == 200


def test_second_passkey_needs_proof_of_the_first(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    second = SoftAuthenticator()
    options = alice.registration_options()
    r = alice.post_registration(second.create(options, origin=ORIGIN))
    assert r.status_code == 403 and code(r) == "mfa_required"
    token = alice.authenticate(createMfaToken={"singleUse": True}).json()["mfaToken"]
    options = alice.registration_options()
    r = alice.post_registration(second.create(options, origin=ORIGIN), headers={"x-mfa-auth-token": token})
    assert r.status_code == 200, r.text
    assert len(alice.passkeys()) == 2


def test_second_passkey_with_credential_link_elevated_token(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    elevated = alice.authenticate(requestedScopes=["credential:link"]).json()["elevatedAccessToken"]
    alice.auth = SoftAuthenticator()
    r = alice.register(headers={"x-dyn-elevated-access-token": elevated})
    assert r.status_code == 200, r.text


def test_replayed_registration(alice: PasskeyUser) -> None:
    options = alice.registration_options()
    cred = alice.auth.create(options, origin=ORIGIN)
    assert alice.post_registration(cred).status_code == 200
    again = alice.post_registration(cred)
    assert again.status_code == 422 and code(again) == "passkey_challenge_invalid"


# -- authentication -----------------------------------------------------------------------------


def test_authenticate_mints_tokens_that_pass_the_gate(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    r = alice.authenticate(createMfaToken={"singleUse": True})
    assert r.status_code == 200, r.text
    mfa_token = r.json()["mfaToken"]
    [passkey] = alice.passkeys()
    # Deleting a passkey is gated (credential:unlink): the minted single-use token opens it once.
    assert alice.delete(passkey["id"]).status_code == 403
    assert alice.delete(passkey["id"], **{"x-mfa-auth-token": mfa_token}).status_code == 204
    assert alice.passkeys() == []


def test_authenticate_with_elevated_scope(alice_with_passkey: PasskeyUser) -> None:
    r = alice_with_passkey.authenticate(requestedScopes=["credential:unlink"])
    assert r.status_code == 200 and r.json()["elevatedAccessToken"] and r.json().get("mfaToken") is None
    [passkey] = alice_with_passkey.passkeys()
    r = alice_with_passkey.delete(passkey["id"], **{"x-dyn-elevated-access-token": r.json()["elevatedAccessToken"]})
    assert r.status_code == 204


def test_spent_mfa_token_is_refused(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    mfa_token = alice.authenticate(createMfaToken={"singleUse": True}).json()["mfaToken"]
    alice.auth = SoftAuthenticator()
    assert alice.register(headers={"x-mfa-auth-token": mfa_token}).status_code == 200
    [_, second] = alice.passkeys()
    r = alice.delete(second["id"], **{"x-mfa-auth-token": mfa_token})
    assert r.status_code == 403 and code(r) == "mfa_token_invalid"


def test_counter_grows_and_is_stored(alice_with_passkey: PasskeyUser) -> None:
    for _ in range(3):
        assert alice_with_passkey.authenticate().status_code == 200
    [cred] = alice_with_passkey.auth.credentials.values()
    assert cred.sign_count == 3


def test_zero_counter_authenticator_is_accepted(alice: PasskeyUser) -> None:
    alice.auth = SoftAuthenticator(use_counter=False, backup_eligible=True, backed_up=True)
    assert alice.register().status_code == 200
    assert alice.authenticate().status_code == 200
    assert alice.authenticate().status_code == 200
    [passkey] = alice.passkeys()
    assert passkey["backupEligible"] and passkey["backedUp"]


def test_no_passkey_no_options(alice: PasskeyUser) -> None:
    r = alice.client.get(alice.env.sdk("/users/passkeys/authenticate"), headers=alice.headers())
    assert r.status_code == 404 and code(r) == "passkey_not_found"


# -- refusals, each with its code --------------------------------------------------------------


def test_replayed_assertion(alice_with_passkey: PasskeyUser) -> None:
    assertion = alice_with_passkey.auth.get(alice_with_passkey.authentication_options(), origin=ORIGIN)
    assert alice_with_passkey.post_assertion(assertion).status_code == 200
    r = alice_with_passkey.post_assertion(assertion)
    assert r.status_code == 422 and code(r) == "passkey_challenge_invalid"


def test_expired_challenge(alice_with_passkey: PasskeyUser, clock: FrozenClock) -> None:
    options = alice_with_passkey.authentication_options()
    clock.advance(timedelta(minutes=5, seconds=1).total_seconds())
    r = alice_with_passkey.post_assertion(alice_with_passkey.auth.get(options, origin=ORIGIN))
    assert r.status_code == 422 and code(r) == "passkey_challenge_invalid"


def test_challenge_spent_by_a_failed_attempt(alice_with_passkey: PasskeyUser) -> None:
    options = alice_with_passkey.authentication_options()
    bad = alice_with_passkey.auth.get(options, origin="http://evil.localhost:8080")
    assert code(alice_with_passkey.post_assertion(bad)) == "passkey_invalid"
    good = alice_with_passkey.auth.get(options, origin=ORIGIN)
    r = alice_with_passkey.post_assertion(good)
    assert r.status_code == 422 and code(r) == "passkey_challenge_invalid"


def test_challenge_bound_to_ceremony_kind(alice_with_passkey: PasskeyUser) -> None:
    reg_options = alice_with_passkey.registration_options()
    auth_options = alice_with_passkey.authentication_options()
    auth_options["challenge"] = reg_options["challenge"]  # a registration challenge, answered as a get()
    r = alice_with_passkey.post_assertion(alice_with_passkey.auth.get(auth_options, origin=ORIGIN))
    assert r.status_code == 422 and code(r) == "passkey_challenge_invalid"


def test_challenge_bound_to_session(alice_with_passkey: PasskeyUser, runtime: Runtime) -> None:
    alice = alice_with_passkey
    options = alice.authentication_options()
    other_session = sign_in(runtime, alice.env, alice.who.user.email)
    assert other_session.session_id != alice.who.session_id
    r = alice.client.post(
        alice.env.sdk("/users/mfa/auth/passkey"),
        json=alice.auth.get(options, origin=ORIGIN),
        headers=other_session.headers,
    )
    assert r.status_code == 422 and code(r) == "passkey_challenge_invalid"


def test_another_users_credential(alice_with_passkey: PasskeyUser, bob_with_passkey: PasskeyUser) -> None:
    options = alice_with_passkey.authentication_options()
    [bob_cred] = bob_with_passkey.auth.credentials
    r = alice_with_passkey.post_assertion(bob_with_passkey.auth.get(options, origin=ORIGIN, credential_id=bob_cred))
    assert r.status_code == 404 and code(r) == "passkey_not_found"


def test_wrong_origin(alice: PasskeyUser) -> None:
    options = alice.registration_options()
    r = alice.post_registration(alice.auth.create(options, origin="https://evil.example"))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "origin"
    alice.auth = SoftAuthenticator()
    assert alice.register().status_code == 200
    options = alice.authentication_options()
    r = alice.post_assertion(alice.auth.get(options, origin="https://evil.example"))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "origin"


def test_wrong_rp_id(alice_with_passkey: PasskeyUser) -> None:
    options = alice_with_passkey.authentication_options()
    r = alice_with_passkey.post_assertion(alice_with_passkey.auth.get(options, origin=ORIGIN, rp_id="evil.example"))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "rp_id"


def test_user_verification_off(alice: PasskeyUser) -> None:
    options = alice.registration_options()
    r = alice.post_registration(alice.auth.create(options, origin=ORIGIN, user_verified=False))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "user_verification"
    alice.auth = SoftAuthenticator()
    assert alice.register().status_code == 200
    options = alice.authentication_options()
    r = alice.post_assertion(alice.auth.get(options, origin=ORIGIN, user_verified=False))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "user_verification"


def test_sign_count_not_grown_marks_clone(alice_with_passkey: PasskeyUser, runtime: Runtime) -> None:
    alice = alice_with_passkey
    clone = copy.deepcopy(alice.auth)  # same key, counter frozen at this point
    assert alice.authenticate().status_code == 200
    assert alice.authenticate().status_code == 200
    options = alice.authentication_options()
    r = alice.post_assertion(clone.get(options, origin=ORIGIN))
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "counter"
    [flagged] = _audit_events(runtime, "passkey.possibly_cloned")
    assert flagged["outcome"] == "refused"
    [passkey] = alice.passkeys()
    assert passkey["possiblyCloned"] is True
    # From now on the credential is refused, even from the device with the higher counter.
    r = alice.client.get(alice.env.sdk("/users/passkeys/authenticate"), headers=alice.headers())
    assert r.status_code == 404 and code(r) == "passkey_not_found"


def test_deleted_credential(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    options = alice.authentication_options()
    token = alice.authenticate(createMfaToken={"singleUse": True}).json()["mfaToken"]
    [passkey] = alice.passkeys()
    assert alice.delete(passkey["id"], **{"x-mfa-auth-token": token}).status_code == 204
    r = alice.post_assertion(alice.auth.get(options, origin=ORIGIN))
    assert r.status_code == 404 and code(r) == "passkey_not_found"


def test_garbage_bodies_are_422_not_500(alice_with_passkey: PasskeyUser) -> None:
    for body in (
        {},
        {"id": "x", "rawId": "x", "response": {}},
        {"id": "x", "rawId": "x", "response": {"clientDataJSON": "!!"}},
    ):
        r = alice_with_passkey.post_assertion(body)
        assert r.status_code == 422, r.text
        assert code(r) in ("invalid_request", "passkey_invalid")


# -- lockout independence -----------------------------------------------------------------------


def test_passkey_failures_do_not_count_toward_code_lockout(alice_with_passkey: PasskeyUser, runtime: Runtime) -> None:
    for _ in range(6):
        options = alice_with_passkey.authentication_options()
        bad = alice_with_passkey.auth.get(options, origin="https://evil.example")
        assert code(alice_with_passkey.post_assertion(bad)) == "passkey_invalid"
    with runtime.db.read() as uow:
        count = uow.conn.execute(select(func.count()).select_from(mfa_failures)).scalar_one()
    assert count == 0
    assert alice_with_passkey.authenticate().status_code == 200


def test_code_lockout_does_not_block_passkeys(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    # Registration created recovery codes; five wrong ones lock the code routes…
    for _ in range(5):
        r = alice.client.post(
            alice.env.sdk("/users/mfa/auth/recovery"), json={"code": "WRONG12345"}, headers=alice.headers()
        )
        assert code(r) == "mfa_invalid_code"
    r = alice.client.post(
        alice.env.sdk("/users/mfa/auth/recovery"), json={"code": "WRONG12345"}, headers=alice.headers()
    )
    assert r.status_code == 429 and code(r) == "mfa_rate_limited"
    # …but not the passkey.
    assert alice.authenticate().status_code == 200


# -- management ---------------------------------------------------------------------------------


def test_rename_and_unknown_ids(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    [passkey] = alice.passkeys()
    r = alice.client.put(
        alice.env.sdk("/users/passkeys"), json={"id": passkey["id"], "alias": "Laptop"}, headers=alice.headers()
    )
    assert r.status_code == 200 and r.json()["alias"] == "Laptop"
    r = alice.client.put(
        alice.env.sdk("/users/passkeys"),
        json={"id": "00000000-0000-0000-0000-000000000000", "alias": "x"},
        headers=alice.headers(),
    )
    assert r.status_code == 404 and code(r) == "passkey_not_found"
    r = alice.delete("00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and code(r) == "passkey_not_found"


def test_other_users_passkey_is_not_found(alice_with_passkey: PasskeyUser, bob_with_passkey: PasskeyUser) -> None:
    [bobs] = bob_with_passkey.passkeys()
    r = alice_with_passkey.client.put(
        alice_with_passkey.env.sdk("/users/passkeys"),
        json={"id": bobs["id"], "alias": "mine"},
        headers=alice_with_passkey.headers(),
    )
    assert r.status_code == 404 and code(r) == "passkey_not_found"


def test_rp_id_must_be_a_suffix_of_every_origin(app_client: TestClient, environment: EnvFixture) -> None:
    r = app_client.put(
        f"/api/v0/environments/{environment.id}",
        json={"settings": {"security": {"passkeys": {"rpId": "example.com", "origins": ["https://example.org"]}}}},
        headers={"Authorization": f"Bearer {environment.admin_token}"},
    )
    assert r.status_code == 422 and code(r) == "invalid_request"
    r = app_client.put(
        f"/api/v0/environments/{environment.id}",
        json={
            "settings": {
                "security": {
                    "passkeys": {"rpId": "example.com", "origins": ["https://example.com", "https://pay.example.com"]}
                }
            }
        },
        headers={"Authorization": f"Bearer {environment.admin_token}"},
    )
    assert r.status_code == 200, r.text


def test_refused_registration_does_not_spend_the_mfa_token(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    token = alice.authenticate(createMfaToken={"singleUse": True}).json()["mfaToken"]
    second = SoftAuthenticator()
    bad = second.create(alice.registration_options(), origin="https://evil.example")
    r = alice.post_registration(bad, headers={"x-mfa-auth-token": token})
    assert r.status_code == 422 and code(r) == "passkey_invalid"
    good = second.create(alice.registration_options(), origin=ORIGIN)
    assert alice.post_registration(good, headers={"x-mfa-auth-token": token}).status_code == 200


def test_concurrent_replays_of_one_assertion_pass_once(alice_with_passkey: PasskeyUser) -> None:
    from concurrent.futures import ThreadPoolExecutor

    assertion = alice_with_passkey.auth.get(alice_with_passkey.authentication_options(), origin=ORIGIN)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: alice_with_passkey.post_assertion(assertion), range(6)))
    assert sorted(r.status_code for r in results) == [200] + [422] * 5
    assert {code(r) for r in results if r.status_code == 422} == {"passkey_challenge_invalid"}


def test_registration_makes_recovery_codes_pending(alice: PasskeyUser) -> None:
    body = alice.register().json()
    assert body["user"]["mfaBackupCodeAcknowledgement"] == "pending"
    r = alice.client.get(alice.env.sdk("/users/mfa/recovery"), headers=alice.headers())
    assert r.status_code == 200 and r.json()["count"] == 10


def test_passkeys_count_as_verified_methods(alice_with_passkey: PasskeyUser) -> None:
    r = alice_with_passkey.client.get(
        alice_with_passkey.env.sdk("/users/mfa/methods"), headers=alice_with_passkey.headers()
    )
    assert r.status_code == 200 and r.json()["userHasVerifiedMfaMethods"] is True
    assert len(r.json()["passkeys"]) == 1


# -- hosted ceremony page (HTML) ----------------------------------------------------------------


def test_hosted_page_serves_open_ceremony_with_strict_headers(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    options = alice.authentication_options()
    url = f"/ui/{alice.env.id}/passkeys/ceremony/{options['ceremonyId']}"
    r = alice.client.get(url, params={"callback": "http://127.0.0.1:5555/callback", "state": "s" * 24})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "form-action http://127.0.0.1:5555" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and r.headers["referrer-policy"] == "no-referrer"
    assert options["challenge"] in r.text and 'action="http://127.0.0.1:5555/callback"' in r.text
    js = alice.client.get("/ui/static/passkey-ceremony.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert alice.client.get("/ui/static/..%2Fserver.py").status_code == 404


@pytest.mark.parametrize(
    "callback",
    ["https://evil.example/cb", "http://evil.example:80/cb", "http://127.0.0.1/cb", "javascript:alert(1)"],
)
def test_hosted_page_refuses_non_loopback_callbacks(alice_with_passkey: PasskeyUser, callback: str) -> None:
    options = alice_with_passkey.authentication_options()
    url = f"/ui/{alice_with_passkey.env.id}/passkeys/ceremony/{options['ceremonyId']}"
    r = alice_with_passkey.client.get(url, params={"callback": callback, "state": "s" * 24})
    assert r.status_code == 422 and 'data-code="invalid_request"' in r.text
    assert "form-action 'none'" in r.headers["content-security-policy"]


def test_hosted_page_refuses_spent_and_expired_ceremonies(alice_with_passkey: PasskeyUser, clock: FrozenClock) -> None:
    alice = alice_with_passkey
    params = {"callback": "http://127.0.0.1:5555/callback", "state": "s" * 24}
    options = alice.authentication_options()
    assert alice.post_assertion(alice.auth.get(options, origin=ORIGIN)).status_code == 200
    r = alice.client.get(f"/ui/{alice.env.id}/passkeys/ceremony/{options['ceremonyId']}", params=params)
    assert r.status_code == 422 and 'data-code="passkey_challenge_invalid"' in r.text
    options = alice.authentication_options()
    clock.advance(301)
    r = alice.client.get(f"/ui/{alice.env.id}/passkeys/ceremony/{options['ceremonyId']}", params=params)
    assert r.status_code == 422
    r = alice.client.get(f"/ui/{alice.env.id}/passkeys/ceremony/not-a-uuid", params=params)
    assert r.status_code == 422


# -- passkeys switched off, limits, duplicates (security review) ----------------------------------


def _put_settings(client: TestClient, env: EnvFixture, settings: dict[str, object]) -> None:
    r = client.put(
        f"/api/v0/environments/{env.id}",
        json={"settings": settings},
        headers={"Authorization": f"Bearer {env.admin_token}"},
    )
    assert r.status_code == 200, r.text


def _passkeys_enabled(client: TestClient, env: EnvFixture, enabled: bool) -> None:
    methods = [{"type": "totp", "enabled": True}, {"type": "passkey", "enabled": enabled}]
    _put_settings(client, env, {"security": {"mfa": {"methods": methods}}})


def test_disabled_passkeys_refuse_every_ceremony(alice_with_passkey: PasskeyUser) -> None:
    alice = alice_with_passkey
    # Ceremonies opened while passkeys were on are refused too once they are switched off.
    assertion = alice.auth.get(alice.authentication_options(), origin=ORIGIN)
    token = alice.authenticate(createMfaToken={"singleUse": False}).json()["mfaToken"]
    second = SoftAuthenticator()
    attestation = second.create(alice.registration_options(), origin=ORIGIN)
    _passkeys_enabled(alice.client, alice.env, False)

    r = alice.client.get(alice.env.sdk("/users/passkeys/register"), headers=alice.headers())
    assert r.status_code == 422 and code(r) == "mfa_method_disabled"
    r = alice.post_registration(attestation, headers={"x-mfa-auth-token": token})
    assert r.status_code == 422 and code(r) == "mfa_method_disabled"
    r = alice.client.get(alice.env.sdk("/users/passkeys/authenticate"), headers=alice.headers())
    assert r.status_code == 422 and code(r) == "mfa_method_disabled"
    r = alice.post_assertion(assertion, createMfaToken={"singleUse": True})
    assert r.status_code == 422 and code(r) == "mfa_method_disabled"
    assert len(alice.passkeys()) == 1  # listing stays possible; nothing was stored

    _passkeys_enabled(alice.client, alice.env, True)
    assert alice.authenticate().status_code == 200
    r = alice.post_registration(
        second.create(alice.registration_options(), origin=ORIGIN), headers={"x-mfa-auth-token": token}
    )
    assert r.status_code == 200, r.text


def test_disabled_passkeys_are_no_factor(alice_with_passkey: PasskeyUser, runtime: Runtime) -> None:
    """A passkey-only user is not asked for a factor they cannot present while passkeys are off."""
    from actionmfa.services.signin.accounts import SignInMethod

    alice = alice_with_passkey
    _put_settings(
        alice.client,
        alice.env,
        {"security": {"mfa": {"enabled": True, "actions": [{"action": "wallet.waas.sign", "required": True}]}}},
    )

    def required() -> bool:
        r = alice.client.post(
            alice.env.sdk("/mfa/isRequiredForAction"), json={"mfaAction": "wallet.waas.sign"}, headers=alice.headers()
        )
        assert r.status_code == 200, r.text
        return bool(r.json()["required"])

    def has_method() -> bool:
        r = alice.client.get(alice.env.sdk("/users/mfa/methods"), headers=alice.headers())
        return bool(r.json()["userHasVerifiedMfaMethods"])

    def sign_in_scope() -> str:
        with runtime.db.write() as uow:
            env = uow.environments.get(alice.env.id)
            user = uow.users.get(alice.env.id, alice.who.user.id)
            assert env is not None and user is not None
            accounts = runtime.services.signin.accounts
            issued = accounts.open_session(uow, env, user, method=SignInMethod.EMAIL, created=False)
        return issued.session.scope.value

    assert required() and has_method() and sign_in_scope() == "requiresAdditionalAuth"
    _passkeys_enabled(alice.client, alice.env, False)
    assert not required() and not has_method() and sign_in_scope() == "user:basic"
    r = alice.client.post(alice.env.sdk("/users/mfa/recovery"), headers=alice.headers())
    assert r.status_code == 404 and code(r) == "not_found"  # recovery codes follow the factors
    _passkeys_enabled(alice.client, alice.env, True)
    assert required() and has_method() and sign_in_scope() == "requiresAdditionalAuth"


def test_passkey_limit_is_checked_when_storing(alice: PasskeyUser) -> None:
    from actionmfa.services.passkeys.ceremonies import MAX_PASSKEYS_PER_USER

    token = alice.register(createMfaToken={"singleUse": False}).json()["mfaToken"]
    proof = {"x-mfa-auth-token": token}
    for _ in range(MAX_PASSKEYS_PER_USER - 2):
        alice.auth = SoftAuthenticator()
        assert alice.register(headers=proof).status_code == 200
    # One below the limit: two option sets are handed out, only one of them may be stored.
    first, second = SoftAuthenticator(), SoftAuthenticator()
    cred_a = first.create(alice.registration_options(), origin=ORIGIN)
    cred_b = second.create(alice.registration_options(), origin=ORIGIN)
    assert alice.post_registration(cred_a, headers=proof).status_code == 200
    r = alice.post_registration(cred_b, headers=proof)
    assert r.status_code == 422 and code(r) == "max_passkeys_per_user"
    assert len(alice.passkeys()) == MAX_PASSKEYS_PER_USER
    r = alice.client.get(alice.env.sdk("/users/passkeys/register"), headers=alice.headers())
    assert r.status_code == 422 and code(r) == "max_passkeys_per_user"


def test_duplicate_credential_racing_past_the_read_is_a_422(
    alice: PasskeyUser,
    app_client: TestClient,
    runtime: Runtime,
    environment: EnvFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two registrations of one credential id: the second read happens before the first commits."""
    from types import SimpleNamespace

    from actionmfa.factors import soft_authenticator
    from actionmfa.store.repos.passkeys import PasskeyRepo

    bob = PasskeyUser(app_client, environment, sign_in(runtime, environment))
    cred_a = alice.auth.create(alice.registration_options(), origin=ORIGIN)
    same_id = b64u_decode(cred_a["rawId"])
    options_b = bob.registration_options()
    with monkeypatch.context() as m:
        m.setattr(soft_authenticator, "secrets", SimpleNamespace(token_bytes=lambda n: same_id))
        cred_b = bob.auth.create(options_b, origin=ORIGIN)
    assert cred_b["rawId"] == cred_a["rawId"]
    assert alice.post_registration(cred_a).status_code == 200
    monkeypatch.setattr(PasskeyRepo, "by_credential", lambda self, env_id, cred_id: None)
    r = bob.post_registration(cred_b)
    assert r.status_code == 422 and code(r) == "passkey_invalid" and reason(r) == "duplicate"
    assert bob.passkeys() == []
