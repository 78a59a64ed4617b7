"""``actionmfa wallets pregenerate`` against a temporary data directory (the fixed Paillier key is
injected into the runtime the command builds, so no prime search runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import actionmfa.pregenerated_cli as pregenerated_cli
from actionmfa.services.runtime import Runtime
from actionmfa.wallet_cli import wallet_app
from tests import wallet_keys
from tests.cli.test_admin_cli import create_env, data_dir

runner = CliRunner()
data_dir = data_dir


@pytest.fixture
def fast_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    build = Runtime.build

    def build_fast(*args: Any, **kwargs: Any) -> Runtime:
        runtime = build(*args, **kwargs)
        runtime.services.wallets.keys.use(lambda: wallet_keys.server_keys()[0], size=1)
        runtime.services.wallets.pregenerated.use_ring(wallet_keys.client_ring(1))
        return runtime

    monkeypatch.setattr(pregenerated_cli.Runtime, "build", build_fast)


def test_pregenerate_from_flags_and_a_file_with_progress(data_dir: Path, tmp_path: Path, fast_keys: None) -> None:
    env_id = create_env(data_dir)["environmentId"]
    listing = tmp_path / "identities.txt"
    listing.write_text("# launch list\nalice@example.com\n\nemail:Bob@Example.com\nexternalUserId:sub-7\n")
    result = runner.invoke(wallet_app, ["pregenerate", "--environment-id", env_id, "--email", "carol@example.com",
                                        "--file", str(listing), "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "pregenerated 4/4" in result.stderr
    doc = json.loads(result.stdout)
    assert [(w["type"], w["identifier"], w["created"]) for w in doc["wallets"]] == [
        ("email", "carol@example.com", True), ("email", "alice@example.com", True),
        ("email", "bob@example.com", True), ("externalUserId", "sub-7", True)]
    again = runner.invoke(wallet_app, ["pregenerate", "--environment-id", env_id, "--email", "ALICE@example.com",
                                       "--data-dir", str(data_dir)])
    assert again.exit_code == 0 and "existing  sealed" in again.stdout
    assert doc["wallets"][1]["walletId"] in again.stdout


def test_pregenerate_bad_input(data_dir: Path, tmp_path: Path) -> None:
    env_id = create_env(data_dir)["environmentId"]
    listing = tmp_path / "bad.txt"
    listing.write_text("alice@example.com\nnot an address\n")
    bad = runner.invoke(wallet_app, ["pregenerate", "--environment-id", env_id, "--file", str(listing),
                                     "--data-dir", str(data_dir)])
    assert bad.exit_code == 2
    body = json.loads(bad.stderr)
    assert body["code"] == "invalid_request" and body["field"].endswith("bad.txt:2.identifier")
    empty = runner.invoke(wallet_app, ["pregenerate", "--environment-id", env_id, "--data-dir", str(data_dir)])
    assert empty.exit_code == 2
