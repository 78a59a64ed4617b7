"""Operator commands for embedded wallets: list locked wallets, unlock one (audited); approve or
revoke delegated access for one user or every wallet of an environment (``delegation approve|revoke``,
issue 13.2 — the same use case as ``POST /api/v0/environments/{id}/waas/delegation/{approve,revoke}``).

Run as ``python -m actionmfa.wallet_cli locked`` / ``python -m actionmfa.wallet_cli unlock --environment-id E
--wallet-id W --operator NAME --note "…"`` with the server's ``ACTIONMFA_*`` environment (or flags);
``actionmfa wallet …`` (also spelt ``actionmfa wallets …``). Read docs/wallet-security.md
("Unlocking a locked wallet") before unlocking: a lock means a signing ceremony produced an invalid
signature, which is what a client probing the server's share would cause.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from actionmfa.config import ServerConfig
from actionmfa.domain.wallets import PendingAction
from actionmfa.errors import ActionMFAError
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime

wallet_app = typer.Typer(help="Embedded-wallet operator commands.", no_args_is_help=True)

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]


def _runtime(data_dir: Path | None, database_url: str | None) -> Runtime:
    runtime = Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))
    runtime.db.migrate()  # idempotent (under the start-up lock): a CLI may run before the upgraded server
    return runtime


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


delegation_app = typer.Typer(help="Delegated access decided by the operator, completed at each user's next sign-in.",
                             no_args_is_help=True)
wallet_app.add_typer(delegation_app, name="delegation")

# The CLI runs with the server's keys and database: it acts as the operator of every environment.
_CLI = AdminPrincipal(token_id="cli", environment_id=None)  # noqa: S106 - an id, not a secret

UserOpt = Annotated[str | None, typer.Option("--user", help="One user's wallets (user id).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every wallet of the environment.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before an environment-wide change.")]
EnvOpt = Annotated[str, typer.Option("--environment-id")]


def _decide(action: PendingAction, environment_id: str, user: str | None, every: bool, yes: bool,
            data_dir: Path | None, database_url: str | None) -> None:
    if (user is None) == (not every):
        typer.echo("error: give exactly one of --user USER_ID or --all", err=True)
        raise typer.Exit(2)
    runtime = _runtime(data_dir, database_url)
    admin = runtime.services.wallets.admin
    try:
        if every and not yes:
            summary = admin.delegation_summary(_CLI, environment_id)
            what = (f"{summary.two_of_two} 2-of-2 wallet(s) will be marked for approval"
                    if action is PendingAction.APPROVE_DELEGATION else
                    f"{summary.two_of_three} 2-of-3 wallet(s) will be marked for revocation and "
                    f"{summary.pending_approval} pending approval(s) withdrawn")
            typer.confirm(f"{what} in environment {environment_id}. Continue?", abort=True, err=True)
        marks = admin.mark_delegation(_CLI, environment_id, action, user_id=user)
    except ActionMFAError as err:
        typer.echo(json.dumps(err.to_body()), err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.db.dispose()
    typer.echo(json.dumps({"environmentId": environment_id, "pendingAction": action.value,
                           "walletIds": marks.marked, "withdrawnWalletIds": marks.withdrawn}, indent=2))


@delegation_app.command("approve")
def approve_delegation(environment_id: EnvOpt, user: UserOpt = None, every: AllOpt = False, yes: YesOpt = False,
                       data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Mark 2-of-2 wallets for delegation: each user's next sign-in reshares to 2-of-3 (or declines)."""
    _decide(PendingAction.APPROVE_DELEGATION, environment_id, user, every, yes, data_dir, database_url)


@delegation_app.command("revoke")
def revoke_delegation(environment_id: EnvOpt, user: UserOpt = None, every: AllOpt = False, yes: YesOpt = False,
                      data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Mark 2-of-3 wallets for revocation (``--all``: the answer to a leaked developer key); delegated
    signing stops at once, each user's next sign-in reshares back to 2-of-2. Pending approvals are withdrawn."""
    _decide(PendingAction.REVOKE_DELEGATION, environment_id, user, every, yes, data_dir, database_url)


if __name__ == "__main__":
    wallet_app()
