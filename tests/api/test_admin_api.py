"""Operator API: environments, admin tokens, settings validation, users; plus /health and OpenAPI."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actionmfa.api.app import create_app
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.conftest import EnvFixture, sign_in


@pytest.fixture
def operator_token(runtime: Runtime) -> str:
    """The operator token a first start creates (fresh, empty store)."""
    with runtime.db.write() as uow:
        result = runtime.environments.bootstrap(uow)
    assert result is not None
    return result[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client: TestClient, token: str, name: str = "Acme", **extra: object) -> dict[str, object]:
    r = client.post("/api/v0/environments", json={"name": name, **extra}, headers=bearer(token))
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_creating_an_environment_needs_an_operator_token(
    app_client: TestClient, operator_token: str, environment: EnvFixture
) -> None:
    body = create(app_client, operator_token, settings={"security": {"mfa": {"enabled": True}}})
    assert str(body["adminToken"]).startswith("amfa_admin_")
    env = body["environment"]
    assert isinstance(env, dict) and env["settings"]["security"]["mfa"]["enabled"] is True
    r = app_client.post("/api/v0/environments", json={"name": "x"}, headers=bearer(environment.admin_token))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = app_client.post("/api/v0/environments", json={"name": "x"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = app_client.post("/api/v0/environments", json={"name": "x"}, headers=bearer("amfa_admin_nope"))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = app_client.post("/api/v0/environments", json={"name": ""}, headers=bearer(operator_token))
    assert r.status_code == 422 and r.json()["field"] == "name"


def test_env_token_sees_its_environment_only(
    app_client: TestClient, operator_token: str, environment: EnvFixture
) -> None:
    other = create(app_client, operator_token, "Other")
    other_id = str(other["environmentId"])
    mine = bearer(environment.admin_token)
    assert app_client.get(f"/api/v0/environments/{environment.id}", headers=mine).status_code == 200
    for method, path, body in (
        ("GET", f"/api/v0/environments/{other_id}", None),
        ("PUT", f"/api/v0/environments/{other_id}", {"name": "pwned"}),
        ("GET", f"/api/v0/environments/{other_id}/users", None),
        ("POST", f"/api/v0/environments/{other_id}/adminToken/rotate", None),
    ):
        r = app_client.request(method, path, json=body, headers=mine)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path, r.text)
    # Same answer as an environment that does not exist at all.
    r = app_client.get(f"/api/v0/environments/{uuid.uuid4()}", headers=mine)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # The operator sees both.
    assert app_client.get(f"/api/v0/environments/{other_id}", headers=bearer(operator_token)).status_code == 200
    assert app_client.get(f"/api/v0/environments/{environment.id}", headers=bearer(operator_token)).status_code == 200


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"security": {"mfa": {"actions": [{"action": "wallet.waas.teleport", "required": True}]}}},
         "settings.security.mfa.actions.0.action"),
        ({"security": {"mfa": {"methods": [{"type": "sms", "enabled": True}]}}},
         "settings.security.mfa.methods.0.type"),
        ({"security": {"mfa": {"enrollment": "always"}}}, "settings.security.mfa.enrollment"),
        ({"security": {"jwtDuration": {"amount": 1000, "unit": "days"}}}, "settings.security.jwtDuration"),
        ({"security": {"surprise": True}}, "settings.security.surprise"),
    ],
)
def test_settings_validation_names_the_field(
    app_client: TestClient, environment: EnvFixture, settings: dict[str, object], field: str
) -> None:
    r = app_client.put(
        f"/api/v0/environments/{environment.id}", json={"settings": settings}, headers=bearer(environment.admin_token)
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and r.json()["field"] == field
    # Nothing was written.
    r = app_client.get(environment.sdk("/settings"))
    assert r.json()["security"]["mfa"]["actions"] == []


def test_put_merges_the_fields_it_is_given(app_client: TestClient, environment: EnvFixture) -> None:
    headers = bearer(environment.admin_token)
    path = f"/api/v0/environments/{environment.id}"
    r = app_client.put(path, json={"settings": {"security": {"mfa": {"enabled": True}}}}, headers=headers)
    assert r.status_code == 200
    r = app_client.put(
        path,
        json={"name": "Renamed", "settings": {"security": {"mfa": {"actions": [
            {"action": "wallet.waas.export", "required": True}]}}}},
        headers=headers,
    )
    body = r.json()
    assert body["name"] == "Renamed"
    mfa = body["settings"]["security"]["mfa"]
    assert mfa["enabled"] is True and mfa["actions"][0]["action"] == "wallet.waas.export"
    assert app_client.get(environment.sdk("/settings")).json()["security"]["mfa"]["enabled"] is True


def test_rotating_the_admin_token_revokes_the_old_one(app_client: TestClient, environment: EnvFixture) -> None:
    path = f"/api/v0/environments/{environment.id}"
    r = app_client.post(f"{path}/adminToken/rotate", headers=bearer(environment.admin_token))
    assert r.status_code == 200
    new = r.json()["adminToken"]
    assert new != environment.admin_token
    r = app_client.get(path, headers=bearer(environment.admin_token))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert app_client.get(path, headers=bearer(new)).status_code == 200


def test_users_list_pages(app_client: TestClient, runtime: Runtime, environment: EnvFixture) -> None:
    emails = {sign_in(runtime, environment).user.email for _ in range(3)}
    path = f"/api/v0/environments/{environment.id}/users"
    r = app_client.get(path, params={"limit": 2}, headers=bearer(environment.admin_token))
    page1 = r.json()
    assert r.status_code == 200 and page1["count"] == 2 and page1["nextCursor"]
    r = app_client.get(path, params={"limit": 2, "cursor": page1["nextCursor"]},
                       headers=bearer(environment.admin_token))
    page2 = r.json()
    assert page2["count"] == 1 and page2["nextCursor"] is None
    assert {u["email"] for u in page1["users"] + page2["users"]} == emails
    r = app_client.get(path, params={"limit": 0}, headers=bearer(environment.admin_token))
    assert r.status_code == 422 and r.json()["field"] == "query.limit"


def test_health_ok_and_degraded(app_client: TestClient, tmp_path: Path) -> None:
    r = app_client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] == "ok"
    dead = Runtime.build(
        ServerConfig(data_dir=tmp_path, mail_log=True),
        keyring=Keyring.generate(),
        db=Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"),
    )
    with TestClient(create_app(dead, migrate=False), raise_server_exceptions=False) as client:
        r = client.get("/health")
    assert r.status_code == 503 and r.json() == {**r.json(), "status": "degraded", "database": "unreachable"}


def test_openapi_document(app_client: TestClient) -> None:
    r = app_client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["info"]["title"] == "ActionMFA"
    paths = doc["paths"]
    for path in (
        "/health",
        "/api/v0/environments",
        "/api/v0/environments/{environmentId}",
        "/api/v0/sdk/{environmentId}/settings",
        "/api/v0/sdk/{environmentId}/emailVerifications/create",
        "/api/v0/sdk/{environmentId}/emailVerifications/signin",
        "/api/v0/sdk/{environmentId}/externalAuth/signin",
        "/api/v0/sdk/{environmentId}/refresh",
        "/api/v0/sdk/{environmentId}/logout",
        "/api/v0/sdk/{environmentId}/users",
    ):
        assert path in paths, path
    signin = paths["/api/v0/sdk/{environmentId}/emailVerifications/signin"]["post"]
    assert signin["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("VerifyResponse")
