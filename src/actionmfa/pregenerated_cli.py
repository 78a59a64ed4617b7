"""``actionmfa wallets pregenerate`` (also ``actionmfa wallet pregenerate``): wallets for identities
that have not signed in yet (issue 13.1), with progress on stderr.

    actionmfa wallets pregenerate --environment-id E --email alice@example.com --email bob@example.com
    actionmfa wallets pregenerate --environment-id E --file identities.txt --json

``identities.txt``: one identity a line — an email address (optionally ``email:`` in front) or
``externalUserId:<sub>``; blank lines and lines starting with ``#`` are skipped. Runs against the
server's database (the ``ACTIONMFA_*`` environment, like the other operator commands), in requests of
at most 1,000 identities. Idempotent: a second run answers the same wallets (``created: false``).
Until each user claims their wallet, **the operator is custodial** (docs/wallet-security.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from actionmfa.config import ServerConfig
from actionmfa.domain.wallets import IdentityType
from actionmfa.errors import ActionMFAError
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.pregenerated import MAX_BATCH, Identity, PregeneratedResult, parse_identities
from actionmfa.wallet_cli import wallet_app

__all__ = ["pregenerate"]


@wallet_app.command("pregenerate")
def pregenerate(
    environment_id: Annotated[str, typer.Option("--environment-id")],
    email: Annotated[list[str] | None, typer.Option("--email", help="An email address (repeatable).")] = None,
    external_user_id: Annotated[list[str] | None, typer.Option(
        "--external-user-id", help="An external-auth sub (repeatable).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Identities, one a line.", exists=True,
                                              dir_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the wallets as JSON.")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url",
                                                     help="Database URL (ACTIONMFA_DATABASE_URL).")] = None,
) -> None:
    """Create a pregenerated EVM wallet for each identity (before the user exists)."""
    try:
        identities = [Identity.parse(IdentityType.EMAIL.value, e, field="--email") for e in email or []]
        identities += [Identity.parse(IdentityType.EXTERNAL_USER_ID.value, s, field="--external-user-id")
                       for s in external_user_id or []]
        if file is not None:
            identities += parse_identities(file.read_text().splitlines(), source=str(file))
    except ActionMFAError as exc:
        typer.echo(json.dumps(exc.to_body()), err=True)
        raise typer.Exit(2) from None
    if not identities:
        typer.echo("nothing to do: give --email, --external-user-id or --file", err=True)
        raise typer.Exit(2)
    runtime = Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))
    service = runtime.services.wallets.pregenerated
    total, finished = len(identities), 0
    results: list[PregeneratedResult] = []

    def progress(done: int, _size: int) -> None:
        print(f"pregenerated {finished + done}/{total}", file=sys.stderr, flush=True)

    try:
        for start in range(0, total, MAX_BATCH):
            chunk = identities[start:start + MAX_BATCH]
            results += service.create(AdminPrincipal("cli", None), environment_id, chunk, progress=progress)
            finished += len(chunk)
    except ActionMFAError as exc:
        typer.echo(json.dumps(exc.to_body()), err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps({"environmentId": environment_id, "wallets": [r.to_json() for r in results]},
                              indent=2))
        return
    for r in results:
        typer.echo(f"{r.identity.type.value}:{r.identity.identifier}  {r.row.address}  {r.row.id}  "
                   f"{'created' if r.created else 'existing'}  {r.status}")
