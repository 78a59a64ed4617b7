"""The ``actionmfa`` CLI (typer's CliRunner) against a temporary data directory."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionmfa.cli import app
from actionmfa.config import ServerConfig
from actionmfa.services.runtime import Runtime

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ACTIONMFA_DATABASE_URL", raising=False)
    monkeypatch.delenv("ACTIONMFA_ENCRYPTION_KEYS", raising=False)
    return tmp_path / "data"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def create_env(data_dir: Path, name: str = "Acme") -> dict[str, str]:
    code, out = run("env", "create", "--name", name, "--json", "--data-dir", str(data_dir))
    assert code == 0, out
    doc: dict[str, str] = json.loads(out)
    return doc


def test_env_create_json_prints_id_and_token(data_dir: Path) -> None:
    doc = create_env(data_dir)
    assert set(doc) == {"environmentId", "adminToken"}
    uuid.UUID(doc["environmentId"])
    assert doc["adminToken"].startswith("amfa_admin_")
    assert (data_dir / "actionmfa.db").exists() and (data_dir / "keys.json").exists()
    code, out = run("env", "create", "--name", "Beta", "--data-dir", str(data_dir))
    assert code == 0 and "environmentId:" in out and "adminToken:" in out


def test_env_show_table_and_json(data_dir: Path) -> None:
    env_id = create_env(data_dir)["environmentId"]
    code, out = run("env", "show", env_id, "--data-dir", str(data_dir))
    assert code == 0 and "name" in out and "Acme" in out and "session MFA" in out
    code, out = run("env", "show", env_id, "--json", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["name"] == "Acme"
    code, out = run("env", "show", str(uuid.uuid4()), "--json", "--data-dir", str(data_dir))
    assert code == 1 and json.loads(out)["code"] == "not_found"


def test_env_settings_set_file_and_validation(data_dir: Path, tmp_path: Path) -> None:
    env_id = create_env(data_dir)["environmentId"]
    patch = {"security": {"mfa": {"enabled": True, "actions": [{"action": "wallet.waas.sign", "required": True}]}}}
    code, out = run("env", "settings", env_id, "--set", json.dumps(patch), "--json", "--data-dir", str(data_dir))
    assert code == 0, out
    assert json.loads(out)["security"]["mfa"]["enabled"] is True
    f = tmp_path / "patch.json"
    f.write_text(json.dumps({"security": {"jwtDuration": {"amount": 2, "unit": "days"}}}))
    code, out = run("env", "settings", env_id, "--file", str(f), "--json", "--data-dir", str(data_dir))
    settings = json.loads(out)["security"]
    assert code == 0 and settings["jwtDuration"]["unit"] == "days" and settings["mfa"]["enabled"] is True
    code, out = run("env", "settings", env_id, "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["security"]["jwtDuration"]["amount"] == 2
    bad = {"security": {"mfa": {"actions": [{"action": "wallet.waas.teleport", "required": True}]}}}
    code, out = run("env", "settings", env_id, "--set", json.dumps(bad), "--json", "--data-dir", str(data_dir))
    assert code == 1
    err = json.loads(out)
    assert err["code"] == "invalid_request" and err["field"].startswith("settings.security.mfa.actions.0.action")
    code, out = run("env", "settings", env_id, "--set", "{nope", "--json", "--data-dir", str(data_dir))
    assert code == 1 and json.loads(out)["code"] == "invalid_request"


def test_users_list(data_dir: Path) -> None:
    env_id = create_env(data_dir)["environmentId"]
    code, out = run("users", "list", env_id, "--data-dir", str(data_dir))
    assert code == 0 and "0 user(s)" in out
    runtime = Runtime.build(ServerConfig(data_dir=data_dir))
    try:
        with runtime.db.write() as uow:
            for email in ("a@example.com", "b@example.com"):
                uow.users.add(id=str(uuid.uuid4()), environment_id=env_id, email=email, external_id=None,
                              now=runtime.clock.now())
    finally:
        runtime.db.dispose()
    code, out = run("users", "list", env_id, "--data-dir", str(data_dir))
    assert code == 0 and "a@example.com" in out and "b@example.com" in out and "2 user(s)" in out
    code, out = run("users", "list", env_id, "--json", "--data-dir", str(data_dir))
    doc = json.loads(out)
    assert doc["count"] == 2 and {u["email"] for u in doc["users"]} == {"a@example.com", "b@example.com"}


def test_openapi_lists_sign_in_routes() -> None:
    code, out = run("openapi")
    assert code == 0
    paths = json.loads(out)["paths"]
    assert "/api/v0/sdk/{environmentId}/emailVerifications/create" in paths
    assert "/api/v0/sdk/{environmentId}/externalAuth/signin" in paths
