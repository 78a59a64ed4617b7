"""Operator recovery of a locked wallet through ``python -m actionmfa.wallet_cli``."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.wallets import WalletRepo
from actionmfa.wallet_cli import wallet_app
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_cli_lists_and_unlocks_a_locked_wallet(open_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = open_user.sdk.wallets.create()
    with wallet_runtime.db.write() as uow:
        WalletRepo(uow.conn).lock(wallet.id, reason="invalid_signature", now=wallet_runtime.clock.now())
    runner = CliRunner()
    url = wallet_runtime.db.url
    data_dir = str(wallet_runtime.config.data_dir)
    listed = runner.invoke(wallet_app, ["locked", "--database-url", url, "--data-dir", data_dir])
    assert listed.exit_code == 0, listed.output
    assert [w["walletId"] for w in json.loads(listed.output)] == [wallet.id]
    result = runner.invoke(wallet_app, ["unlock", "--environment-id", open_user.env.id, "--wallet-id", wallet.id,
                                        "--operator", "alice", "--note", "refreshed device",
                                        "--database-url", url, "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"walletId": wallet.id, "unlocked": True}
    assert not open_user.sdk.wallets.list()[0].locked
    with wallet_runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log).where(audit_log.c.event == "wallet.unlocked")).all()
    assert len(rows) == 1 and rows[0].details["operator"] == "alice"


def test_key_rotation_reencrypts_server_shares(open_user: WalletUser, wallet_runtime: Runtime) -> None:
    import secrets

    from actionmfa.crypto import Keyring
    from actionmfa.services.wallets.admin import rotate_wallet_secrets
    from actionmfa.services.wallets.vault import WalletVault

    wallet = open_user.sdk.wallets.create()
    old = wallet_runtime.keyring
    new = Keyring(keys={**old.keys, "k-new": secrets.token_bytes(32)}, active_key_id="k-new", hash_key=old.hash_key)
    with wallet_runtime.db.write() as uow:
        assert rotate_wallet_secrets(uow, new) == 1
        assert rotate_wallet_secrets(uow, new) == 0  # idempotent
    with wallet_runtime.db.read() as uow:
        row = WalletRepo(uow.conn).wallet_by_id(open_user.env.id, wallet.id)
    assert row is not None and new.key_id_of(row.server_share) == "k-new"
    assert WalletVault(new).open_share(row).public_key.format().hex() == row.public_key
