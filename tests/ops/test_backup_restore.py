"""``actionmfa backup`` (issue 11 item 6): an online copy of a live SQLite store restores into a fresh
data dir, a server starts on it, and a user's TOTP still verifies there."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from actionmfa.api.app import create_app
from actionmfa.cli import app
from actionmfa.cli_ops import register
from actionmfa.clock import SystemClock
from actionmfa.config import ServerConfig
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from tests.conftest import make_environment, sign_in
from tests.ops.served import start_server, stop

register(app)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_HASH_KEY", "ACTIONMFA_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_backup_of_a_live_store_restores_and_totp_still_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = SystemClock()
    runtime = Runtime.build(ServerConfig(data_dir=data), clock=clock)
    runtime.db.migrate()
    env = make_environment(runtime)
    user = sign_in(runtime, env)
    with TestClient(create_app(runtime, migrate=False)) as client:
        reg = client.get(env.sdk("/users/mfa/register/totp"), headers=user.headers).json()
        enrolled_at = clock.now()
        r = client.post(env.sdk("/users/mfa/register/totp"), headers=user.headers,
                        json={"code": totp.code_at(reg["secret"], enrolled_at)})
        assert r.status_code == 200, r.text
        # Online: the runtime keeps its pooled connections open (WAL) while the backup runs.
        target, keys = tmp_path / "backup" / "actionmfa.db", tmp_path / "backup" / "keys.json"
        target.parent.mkdir()
        r = runner.invoke(app, ["backup", str(target), "--keys-to", str(keys), "--data-dir", str(data), "--json"])
        assert r.exit_code == 0, r.output
    runtime.db.dispose()
    assert oct(target.stat().st_mode & 0o777) == "0o600" and oct(keys.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(target, restored / "actionmfa.db")
    shutil.copyfile(keys, restored / "keys.json")
    served = start_server(restored, tmp_path / "restored.log")
    try:
        # The step after the one spent at enrolment (accepted as +1 if no new step has begun yet).
        now = clock.now()
        when = now if totp.code_at(reg["secret"], now) != totp.code_at(reg["secret"], enrolled_at) else (
            now + timedelta(seconds=30))
        r = httpx.post(f"{served.url}{env.sdk('/users/mfa/auth/totp')}", headers=user.headers,
                       json={"code": totp.code_at(reg["secret"], when)}, timeout=30)
        assert r.status_code == 200, r.text
        assert httpx.get(f"{served.url}/health/ready", timeout=30).json()["migrations"]["atHead"] is True
    finally:
        stop(served)


def test_postgresql_gets_pg_dump_advice(tmp_path: Path) -> None:
    r = runner.invoke(app, ["backup", str(tmp_path / "x.db"), "--database-url", "postgresql://u@db.example/amfa"])
    assert r.exit_code == 2
    assert "pg_dump --format=custom" in r.output and "pg_restore" in r.output
    assert not (tmp_path / "x.db").exists()


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["backup", str(tmp_path / "x.db"), "--data-dir", str(tmp_path / "empty")])
    assert r.exit_code == 1 and "no SQLite database" in r.output
