"""``actionmfa webhooks list|redeliver``: the webhook outbox seen by the operator (issue 13.4).

``list`` prints events newest first with each attempt (time, HTTP status or error, worker) as JSON;
``redeliver EVENT_ID`` queues an event again, due now, with the same event id (receivers deduplicate
on it). Bodies are never printed: a delegation event carries sealed shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from actionmfa.config import ServerConfig
from actionmfa.services.runtime import Runtime

webhooks_app = typer.Typer(help="Webhook deliveries: list them, deliver one again.", no_args_is_help=True)

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]


def _runtime(data_dir: Path | None, database_url: str | None) -> Runtime:
    return Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))


@webhooks_app.command("list")
def list_events(
    environment_id: Annotated[str | None, typer.Option("--environment-id")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Events with their delivery history (JSON, newest first)."""
    worker = _runtime(data_dir, database_url).services.core.webhooks
    typer.echo(json.dumps(worker.list_events(environment_id, status=status, limit=limit), indent=2))


@webhooks_app.command()
def redeliver(
    event_id: Annotated[str, typer.Argument(help="The eventId (webhook-id) to deliver again.")],
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Queue one event again, due now; the server processes deliver it."""
    found = _runtime(data_dir, database_url).services.core.webhooks.redeliver(event_id)
    typer.echo(json.dumps({"eventId": event_id, "queued": found}))
    if not found:
        raise typer.Exit(1)
