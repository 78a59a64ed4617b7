"""The newcomer's commands (issue 12): ``env require``, what ``serve`` says at start, the 503's fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionmfa.cli import app, env_app, startup_notes
from actionmfa.cli_env import register
from actionmfa.config import ServerConfig, SmtpConfig
from actionmfa.errors import EmailDeliveryError
from actionmfa.server import prepare
from actionmfa.services.signin.mailer import MailMessage, UnconfiguredMailer

register(env_app)
runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ACTIONMFA_DATABASE_URL", "ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def test_env_require_on_the_bootstrapped_environment(data_dir: Path) -> None:
    runtime, boot = prepare(ServerConfig(data_dir=data_dir))  # what the first `serve` does
    runtime.db.dispose()
    assert boot is not None
    result = runner.invoke(app, ["env", "require", "wallet.waas.sign", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert f"Environment {boot.environment_id} requires MFA for wallet.waas.sign" in result.output
    result = runner.invoke(
        app,
        ["env", "require", "wallet.waas.export", "--env", boot.environment_id, "--json", "--data-dir", str(data_dir)],
    )
    assert json.loads(result.output)["required"] == ["wallet.waas.sign", "wallet.waas.export"]
    result = runner.invoke(app, ["env", "require", "wallet.waas.sign", "--off", "--json", "--data-dir", str(data_dir)])
    assert json.loads(result.output)["required"] == ["wallet.waas.export"]


def test_env_require_refuses_an_unknown_action(data_dir: Path) -> None:
    prepare(ServerConfig(data_dir=data_dir))[0].db.dispose()
    result = runner.invoke(app, ["env", "require", "wallet.sign", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "unknown action 'wallet.sign'" in result.output


def test_serve_names_the_dashboard_and_warns_loudly_without_mail() -> None:
    notes = startup_notes(ServerConfig(), "sqlite")
    assert "  dashboard: http://127.0.0.1:8080/dashboard   (sign in with the admin token)" in notes
    warnings = [line for line in notes if line.startswith("WARNING")]
    assert warnings and "--mail-log" in " ".join(warnings) and "ACTIONMFA_SMTP_HOST" in " ".join(warnings)
    assert not any(n.startswith("WARNING") for n in startup_notes(ServerConfig(mail_log=True), "sqlite"))
    smtp = ServerConfig(smtp=SmtpConfig(host="mail.example"))
    assert "  mail: SMTP via mail.example:25" in startup_notes(smtp, "sqlite")


def test_the_first_sign_ins_503_names_the_fix() -> None:
    with pytest.raises(EmailDeliveryError) as caught:
        UnconfiguredMailer().send(MailMessage(to="a@example.com", subject="s", text="t"))
    assert caught.value.status == 503
    assert "ACTIONMFA_SMTP_HOST" in caught.value.message and "--mail-log" in caught.value.message
