"""Operator commands for embedded wallets: list locked wallets, unlock one (audited).

Run as ``python -m actionmfa.wallet_cli locked`` / ``python -m actionmfa.wallet_cli unlock --environment-id E
--wallet-id W --operator NAME --note "…"`` with the server's ``ACTIONMFA_*`` environment (or flags);
``actionmfa wallet …`` once the main CLI mounts :data:`wallet_app`. Read docs/wallet-security.md
("Unlocking a locked wallet") before unlocking: a lock means a signing ceremony produced an invalid
signature, which is what a client probing the server's share would cause.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from actionmfa.config import ServerConfig
from actionmfa.services.runtime import Runtime

wallet_app = typer.Typer(help="Embedded-wallet operator commands.", no_args_is_help=True)

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]


def _runtime(data_dir: Path | None, database_url: str | None) -> Runtime:
    return Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))


@wallet_app.command()
def locked(
    environment_id: Annotated[str | None, typer.Option("--environment-id")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """List wallets locked for signing (JSON)."""
    rows = _runtime(data_dir, database_url).services.wallets.admin.locked(environment_id)
    typer.echo(json.dumps([
        {"walletId": r.id, "environmentId": r.environment_id, "userId": r.user_id, "address": r.address,
         "lockedAt": r.locked_at.isoformat() if r.locked_at else None, "lockReason": r.lock_reason,
         "lockCount": r.lock_count}
        for r in rows
    ], indent=2))


@wallet_app.command()
def unlock(
    environment_id: Annotated[str, typer.Option("--environment-id")],
    wallet_id: Annotated[str, typer.Option("--wallet-id")],
    operator: Annotated[str, typer.Option("--operator", help="Who decided (written to the audit log).")],
    note: Annotated[str, typer.Option("--note", help="Why (audit log, 200 characters).")] = "",
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Clear the signing lock of one wallet (audited as wallet.unlocked)."""
    admin = _runtime(data_dir, database_url).services.wallets.admin
    changed = admin.unlock(environment_id, wallet_id, operator=operator, note=note)
    typer.echo(json.dumps({"walletId": wallet_id, "unlocked": changed}))


if __name__ == "__main__":
    wallet_app()
