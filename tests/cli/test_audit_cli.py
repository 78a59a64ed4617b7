"""``actionmfa audit verify`` over a real MFA story, and the dashboard's chain line (issue 11 item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from actionmfa.cli import app
from actionmfa.cli_ops import register
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from tests.conftest import make_environment, sign_in

register(app)
runner = CliRunner()


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A data dir whose audit log holds a sign-in, a TOTP enrolment and an MFA authentication."""
    for var in ("ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_HASH_KEY", "ACTIONMFA_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    clock = FrozenClock()
    runtime = Runtime.build(ServerConfig(data_dir=data), clock=clock)
    runtime.db.migrate()
    from actionmfa.api.app import create_app

    env = make_environment(runtime)
    user = sign_in(runtime, env)
    with TestClient(create_app(runtime, migrate=False)) as client:
        reg = client.get(env.sdk("/users/mfa/register/totp"), headers=user.headers).json()
        r = client.post(
            env.sdk("/users/mfa/auth/totp"),
            headers=user.headers,
            json={"id": reg["id"], "code": totp.code_at(reg["secret"], clock.now())},
        )
        assert r.status_code == 200
    runtime.db.dispose()
    return data, env.id, env.admin_token


def test_verify_passes_then_names_the_altered_row(story: tuple[Path, str, str]) -> None:
    data, env_id, _ = story
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["intact"] is True and doc["chains"][0]["rows"] >= 3

    runtime = Runtime.build(ServerConfig(data_dir=data))
    with runtime.db.engine.begin() as conn:
        target = conn.execute(select(audit_log.c.id).where(audit_log.c.event == "mfa.auth_succeeded")).scalar_one()
        conn.execute(update(audit_log).where(audit_log.c.id == target).values(outcome="tampered"))
    runtime.db.dispose()
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data)])
    assert r.exit_code == 1
    assert f"altered: row {target} " in r.output


def test_dashboard_shows_the_chain_state(story: tuple[Path, str, str]) -> None:
    data, env_id, admin_token = story
    runtime = Runtime.build(ServerConfig(data_dir=data))
    from actionmfa.api.app import create_app

    with TestClient(create_app(runtime, migrate=False)) as client:
        client.post("/dashboard/login", data={"adminToken": admin_token}, follow_redirects=False)
        page = client.get(f"/dashboard/environments/{env_id}/audit").text
        assert "Hash chain intact" in page
        with runtime.db.engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.environment_id == env_id).values(user_id=None))
        page = client.get(f"/dashboard/environments/{env_id}/audit").text
        assert "Hash chain broken" in page and "does not match its seal" in page
    runtime.db.dispose()
