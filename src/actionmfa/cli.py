"""``actionmfa`` command line (typer)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from actionmfa import __version__
from actionmfa.config import ServerConfig

app = typer.Typer(help="ActionMFA: Action-Based MFA server, SDK and embedded wallet.", no_args_is_help=True)


def _config(data_dir: Path | None = None, database_url: str | None = None) -> ServerConfig:
    return ServerConfig.from_env(data_dir=data_dir, database_url=database_url)


DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (ACTIONMFA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ACTIONMFA_PORT).")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (ACTIONMFA_WORKERS).")] = None,
    mail_log: Annotated[bool, typer.Option("--mail-log", help="Print mail to the log instead of SMTP.")] = False,
) -> None:
    """Run the server (creates and migrates the store; bootstraps an empty one)."""
    import uvicorn

    from actionmfa.api.app import create_app
    from actionmfa.server import prepare

    config = ServerConfig.from_env(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        workers=workers,
        mail_log=True if mail_log else None,
    )
    runtime, boot = prepare(config)
    if boot is not None:
        typer.echo("First start: created an environment and an operator admin token (shown once).")
        typer.echo(f"  environmentId: {boot.environment_id}")
        typer.echo(f"  adminToken:    {boot.admin_token}")
        typer.echo(f"  (also written to {boot.path}, mode 0600)")
    typer.echo(f"Serving on http://{config.host}:{config.port} ({runtime.db.dialect})")
    if config.workers > 1:
        runtime.db.dispose()
        env = {
            "ACTIONMFA_DATA_DIR": str(config.data_dir),
            "ACTIONMFA_DATABASE_URL": config.effective_database_url,
            "ACTIONMFA_MAIL_LOG": "true" if config.mail_log else "false",
        }
        os.environ.update(env)
        uvicorn.run(
            "actionmfa.server:app_from_env",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            log_level="info",
        )
    else:
        uvicorn.run(create_app(runtime, migrate=False), host=config.host, port=config.port, log_level="info")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    from actionmfa.api.app import create_app
    from actionmfa.crypto import Keyring
    from actionmfa.services.runtime import Runtime
    from actionmfa.store.db import Database

    config = ServerConfig()
    runtime = Runtime.build(config, keyring=Keyring.generate(), db=Database("sqlite://"))
    typer.echo(json.dumps(create_app(runtime, migrate=False).openapi(), indent=2))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
