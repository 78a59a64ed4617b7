"""``actionmfa users reset-mfa``, ``keys rotate`` and ``totp qr``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from actionmfa.cli import app
from actionmfa.cli_mfa import register
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig, read_keys_file
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import mfa_devices
from tests.conftest import make_environment, sign_in

register(app)
runner = CliRunner()


@pytest.fixture
def enrolled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
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
    return data, user.user.id, reg["secret"]


def test_keys_rotate_reencrypts_totp_secrets(enrolled: tuple[Path, str, str]) -> None:
    data, _, secret = enrolled
    result = runner.invoke(app, ["keys", "rotate", "--data-dir", str(data), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["activeKeyId"] == "k2" and out["reencrypted"] >= 2  # TOTP secret + recovery copy (+ keys)
    keyring = read_keys_file(data / "keys.json")
    assert set(keyring.keys) == {"k1", "k2"}
    runtime = Runtime.build(ServerConfig(data_dir=data), keyring=keyring)
    with runtime.db.read() as uow:
        row = uow.conn.execute(select(mfa_devices)).one()
    assert keyring.key_id_of(row.secret_enc) == "k2"
    assert keyring.decrypt(row.secret_enc, aad=f"totp:{row.id}").decode() == secret
    runtime.db.dispose()


def test_users_reset_mfa(enrolled: tuple[Path, str, str]) -> None:
    data, user_id, _ = enrolled
    result = runner.invoke(app, ["users", "reset-mfa", user_id, "--data-dir", str(data), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reset"] is True
    runtime = Runtime.build(ServerConfig(data_dir=data))
    with runtime.db.read() as uow:
        assert uow.conn.execute(select(mfa_devices)).all() == []
    runtime.db.dispose()
    result = runner.invoke(app, ["users", "reset-mfa", "nope", "--data-dir", str(data), "--json"])
    assert result.exit_code == 1


def test_totp_qr(tmp_path: Path) -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", issuer="Acme", label="a@b.c")
    result = runner.invoke(app, ["totp", "qr", uri, "--svg", str(tmp_path / "q.svg"), "--png", str(tmp_path / "q.png")])
    assert result.exit_code == 0 and "█" in result.output
    assert (tmp_path / "q.svg").read_bytes().lstrip().startswith(b"<svg")
    assert (tmp_path / "q.png").read_bytes().startswith(b"\x89PNG")
    assert runner.invoke(app, ["totp", "qr", "https://x"]).exit_code == 2
