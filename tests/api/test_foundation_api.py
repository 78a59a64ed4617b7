"""Foundation API: health, settings, sessions, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn


def test_health_reports_database(app_client: TestClient) -> None:
    r = app_client.get("/health")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


def test_settings_are_public_and_unknown_env_is_404(app_client: TestClient, environment: EnvFixture) -> None:
    r = app_client.get(environment.sdk("/settings"))
    assert r.status_code == 200
    assert r.json()["security"]["mfa"]["enrollment"] == "none"
    r = app_client.get("/api/v0/sdk/00000000-0000-0000-0000-000000000000/settings")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_get_user_with_session(app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn) -> None:
    r = app_client.get(environment.sdk("/users"), headers=signed_in_user.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == signed_in_user.user.id
    assert r.json()["scope"] == "user:basic"


def test_logout_kills_session_at_once(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    assert app_client.post(environment.sdk("/logout"), headers=signed_in_user.headers).status_code == 204
    r = app_client.get(environment.sdk("/users"), headers=signed_in_user.headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_session_of_other_environment_refused(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    from tests.conftest import make_environment

    other = make_environment(runtime, "Other")
    r = app_client.get(other.sdk("/users"), headers=signed_in_user.headers)
    assert r.status_code == 401


def test_malformed_json_and_unknown_route(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn
) -> None:
    r = app_client.put(
        environment.sdk("/users"),
        content=b"{not json",
        headers={**signed_in_user.headers, "content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = app_client.get("/nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_oversized_body_is_413(app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn) -> None:
    r = app_client.put(
        environment.sdk("/users"),
        content=b"x" * (300 * 1024),
        headers={**signed_in_user.headers, "content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
