"""``actionmfa wallets delegation approve|revoke`` against a temporary data directory (issue 13.2)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actionmfa.config import ServerConfig
from actionmfa.services.runtime import Runtime
from actionmfa.wallet_cli import wallet_app

runner = CliRunner()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, dict[str, str]]:
    """An environment with a delegated wallet (user a), a 2-of-2 one (user b) and one approved but
    not yet completed (user c)."""
    for var in ("ACTIONMFA_DATABASE_URL", "ACTIONMFA_ENCRYPTION_KEYS", "ACTIONMFA_HASH_KEY"):
        monkeypatch.delenv(var, raising=False)
    data_dir = tmp_path / "data"
    rt = Runtime.build(ServerConfig(data_dir=data_dir))
    rt.db.migrate()
    now = rt.clock.now()
    wallets: dict[str, str] = {}
    with rt.db.write() as uow:
        env_id = rt.environments.create(uow, name="Acme").environment.id
        for user, scheme, pending in (("a", "TWO_OF_THREE", None), ("b", "TWO_OF_TWO", None),
                                      ("c", "TWO_OF_TWO", "approve_delegation")):
            user_id = uow.users.add(id=str(uuid.uuid4()), environment_id=env_id, email=f"{user}@example.com",
                                    external_id=None, now=now).id
            wallets[user] = str(uuid.uuid4())
            wallets[f"user-{user}"] = user_id
            uow.wallets.add_wallet(id=wallets[user], environment_id=env_id, user_id=user_id, chain="EVM",
                                   address="0x" + "ab" * 20, public_key="02" + "cd" * 32, server_share="sealed",
                                   key_version=1, lock_count=0, created_at=now, updated_at=now,
                                   threshold_scheme=scheme, pending_action=pending)
    rt.db.dispose()
    return data_dir, env_id, wallets


def _pending(data_dir: Path, env_id: str, wallet_id: str) -> str | None:
    rt = Runtime.build(ServerConfig(data_dir=data_dir))
    with rt.db.read() as uow:
        row = uow.wallets.wallet_by_id(env_id, wallet_id)
    rt.db.dispose()
    assert row is not None
    return row.pending_action


def test_revoke_all_asks_first_then_marks_and_withdraws(world: tuple[Path, str, dict[str, str]]) -> None:
    data_dir, env_id, w = world
    args = ["delegation", "revoke", "--environment-id", env_id, "--all", "--data-dir", str(data_dir)]
    refused = runner.invoke(wallet_app, args, input="n\n")
    assert refused.exit_code == 1 and "1 2-of-3 wallet(s)" in refused.output and "1 pending approval" in refused.output
    assert _pending(data_dir, env_id, w["a"]) is None and _pending(data_dir, env_id, w["c"]) == "approve_delegation"
    done = runner.invoke(wallet_app, args, input="y\n")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output[done.output.index("{"):])
    assert out["walletIds"] == [w["a"]] and out["withdrawnWalletIds"] == [w["c"]]
    assert _pending(data_dir, env_id, w["a"]) == "revoke_delegation" and _pending(data_dir, env_id, w["c"]) is None


def test_approve_one_user_needs_no_confirmation(world: tuple[Path, str, dict[str, str]]) -> None:
    data_dir, env_id, w = world
    base = ["delegation", "approve", "--environment-id", env_id, "--data-dir", str(data_dir)]
    result = runner.invoke(wallet_app, [*base, "--user", w["user-b"]])
    # delegated access is off in this environment: the use case refuses, nothing is marked
    assert result.exit_code == 1 and "delegated_access_disabled" in result.output
    assert _pending(data_dir, env_id, w["b"]) is None
    assert runner.invoke(wallet_app, base).exit_code == 2  # neither --user nor --all
    assert runner.invoke(wallet_app, [*base, "--all", "--user", w["user-b"]]).exit_code == 2  # both


def test_revoke_one_user_and_all_with_yes(world: tuple[Path, str, dict[str, str]]) -> None:
    data_dir, env_id, w = world
    base = ["delegation", "revoke", "--environment-id", env_id, "--data-dir", str(data_dir)]
    result = runner.invoke(wallet_app, [*base, "--user", w["user-b"]])
    assert result.exit_code == 0 and json.loads(result.output)["walletIds"] == []  # b has no 2-of-3 wallet
    result = runner.invoke(wallet_app, [*base, "--all", "--yes"])
    assert result.exit_code == 0 and json.loads(result.output)["walletIds"] == [w["a"]]
    unknown = runner.invoke(wallet_app, ["delegation", "revoke", "--environment-id", str(uuid.uuid4()), "--all",
                                         "--yes", "--data-dir", str(data_dir)])
    assert unknown.exit_code == 1 and "not_found" in unknown.output
