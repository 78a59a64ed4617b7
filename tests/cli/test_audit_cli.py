"""``actionmfa audit verify`` over a real MFA story, and the dashboard's chain line (issue 11 item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from actionmfa.cli import app
from actionmfa.cli_ops import register
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.factors import totp
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log
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


@pytest.fixture
def sharded_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A data dir whose environment's log is in several shards (ACTIONMFA_AUDIT_CHAIN_SHARDS=4)."""
    for var in ("ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_HASH_KEY", "ACTIONMFA_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ACTIONMFA_AUDIT_CHAIN_SHARDS", "4")
    data = tmp_path / "data"
    runtime = Runtime.build(ServerConfig.from_env(data_dir=data))
    assert runtime.db.audit_shards == 4
    runtime.db.migrate()
    env = make_environment(runtime)
    for n in range(8):  # eight users' MFA events: their rows spread over the shards
        user = sign_in(runtime, env)
        with runtime.db.write() as uow:
            audit.record(uow, AuditIds(env.id, user.user.id), AuditEvent.MFA_AUTH_SUCCEEDED, now=runtime.clock.now(),
                         n=n)
    runtime.db.dispose()
    return data, env.id


def test_verify_prints_one_line_per_environment_with_its_anchor(sharded_story: tuple[Path, str]) -> None:
    data, env_id = sharded_story
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)["chains"][0]
    heads = {s["shard"]: s["head"]["seq"] for s in doc["shards"]}
    assert len(heads) > 1 and sum(heads.values()) == doc["rows"]
    anchor = doc["anchor"]
    assert anchor.startswith(",".join(f"{s}:{q}" for s, q in sorted(heads.items())) + "@")
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id])
    assert r.exit_code == 0 and r.output.count("\n") == 1, r.output
    assert r.output.startswith(f"{env_id}: intact — ") and f" in {len(heads)} shard(s); heads 0:" in r.output
    assert r.output.rstrip().endswith(f"; anchor {anchor}")
    assert runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id,
                               "--anchor", anchor]).exit_code == 0

    # Roll one shard back by a row, head included: the chains still check, the anchor does not.
    runtime = Runtime.build(ServerConfig(data_dir=data))
    shard = max(heads)
    with runtime.db.engine.begin() as conn:
        last = conn.execute(select(audit_log).where(audit_log.c.environment_id == env_id,
                                                    audit_log.c.chain_shard == shard)
                            .order_by(audit_log.c.id.desc())).mappings().first()
        assert last is not None
        conn.execute(delete(audit_log).where(audit_log.c.id == last["id"]))
        if last["chain_seq"] == 1:
            conn.execute(delete(audit_chain_heads).where(audit_chain_heads.c.chain == env_id,
                                                         audit_chain_heads.c.shard == shard))
        else:
            conn.execute(update(audit_chain_heads).where(audit_chain_heads.c.chain == env_id,
                                                         audit_chain_heads.c.shard == shard)
                         .values(seq=last["chain_seq"] - 1, last_hash=last["chain_prev"]))
    runtime.db.dispose()
    assert runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id]).exit_code == 0
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id, "--anchor", anchor])
    assert r.exit_code == 1 and f"anchor_mismatch: shard {shard}: the recorded anchor's seq" in r.output, r.output


def test_a_malformed_anchor_is_exit_status_2(sharded_story: tuple[Path, str]) -> None:
    data, env_id = sharded_story
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--environment", env_id, "--anchor", "0:1@zz"])
    assert r.exit_code == 2 and "an anchor reads" in r.output
    r = runner.invoke(app, ["audit", "verify", "--data-dir", str(data), "--anchor", "0:1@" + "0" * 64])
    assert r.exit_code == 2 and "--anchor needs --environment" in r.output


@pytest.mark.parametrize("value", ["0", "257", "four", "1.5"])
def test_a_bad_shard_count_is_a_clear_start_up_error(value: str) -> None:
    with pytest.raises(ValueError, match="ACTIONMFA_AUDIT_CHAIN_SHARDS must be a whole number from 1 to 256"):
        ServerConfig.from_env({"ACTIONMFA_AUDIT_CHAIN_SHARDS": value})
    with pytest.raises(ValueError, match="from 1 to 256"):
        ServerConfig(audit_chain_shards=0)
    assert ServerConfig.from_env({"ACTIONMFA_AUDIT_CHAIN_SHARDS": " 32 "}).audit_chain_shards == 32
    assert ServerConfig.from_env({}).audit_chain_shards is None  # the database's default
