"""``actionmfa webhooks list|redeliver`` against a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionmfa.config import ServerConfig
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.delivery import create_delegation_secret
from actionmfa.webhooks_cli import webhooks_app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ACTIONMFA_DATABASE_URL", raising=False)
    monkeypatch.delenv("ACTIONMFA_ENCRYPTION_KEYS", raising=False)
    return tmp_path / "data"


def test_list_shows_attempts_and_redeliver_requeues(data_dir: Path) -> None:
    rt = Runtime.build(ServerConfig(data_dir=data_dir))
    rt.db.migrate()
    with rt.db.write() as uow:
        created = rt.environments.create(uow, name="Acme", settings={"webhooks": {"url": "http://127.0.0.1:9/x"}})
        env_id = created.environment.id
        create_delegation_secret(uow, rt.services.wallets.vault, env_id, now=rt.clock.now())
        audit.record(uow, AuditIds(env_id, "u-1"), AuditEvent.MFA_RESET, now=rt.clock.now(), outcome="ok")
    rt.services.core.webhooks.run_once()  # port 9 refuses: one failed attempt
    rt.db.dispose()

    result = runner.invoke(webhooks_app, ["list", "--environment-id", env_id, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    [event] = json.loads(result.output)
    assert event["eventName"] == "user.mfa.reset_by_admin" and event["status"] == "pending"
    assert [a["attempt"] for a in event["history"]] == [1] and event["history"][0]["error"]
    assert "body" not in event

    result = runner.invoke(webhooks_app, ["redeliver", event["eventId"], "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and json.loads(result.output) == {"eventId": event["eventId"], "queued": True}
    result = runner.invoke(webhooks_app, ["redeliver", "no-such-event", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    rt = Runtime.build(ServerConfig(data_dir=data_dir))
    with rt.db.read() as uow:
        [audited] = [r for r in uow.audit.page(env_id, before_id=None, limit=50) if r.event == "webhook.redelivered"]
    rt.db.dispose()
    assert audited.details["eventId"] == event["eventId"] and audited.details["operator"] == "cli"
