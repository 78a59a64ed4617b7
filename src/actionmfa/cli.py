"""``actionmfa`` command line (typer)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from actionmfa import __version__
from actionmfa.config import ServerConfig

if TYPE_CHECKING:
    from actionmfa.domain.models import Environment
    from actionmfa.services.runtime import Runtime

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
    import logging.config

    import uvicorn

    from actionmfa.api.app import create_app, warm_routes
    from actionmfa.logs import log_config, metrics_dir_for_workers
    from actionmfa.server import prepare

    config = ServerConfig.from_env(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        workers=workers,
        mail_log=True if mail_log else None,
    )
    logging.config.dictConfig(log_config(config.log_format))
    if config.workers > 1:
        metrics_dir_for_workers(config)
    runtime, boot = prepare(config)
    if boot is not None:
        typer.echo("First start: created an environment and an operator admin token (shown once).")
        typer.echo(f"  environmentId: {boot.environment_id}")
        typer.echo(f"  adminToken:    {boot.admin_token}")
        typer.echo(f"  (also written to {boot.path}, mode 0600)")
    emit_startup_notes(config, runtime.db.dialect)
    if config.workers > 1:
        runtime.db.dispose()
        env = {
            "ACTIONMFA_DATA_DIR": str(config.data_dir),
            "ACTIONMFA_DATABASE_URL": config.effective_database_url,
            "ACTIONMFA_MAIL_LOG": "true" if config.mail_log else "false",
        }
        os.environ.update(env)
        from actionmfa.server import WORKER_APP, run_workers, uvicorn_config

        run_workers(
            uvicorn_config(
                WORKER_APP,
                config,
                factory=True,
                workers=config.workers,
                log_config=log_config(config.log_format),
                access_log=False,  # the JSON request log replaces it (no raw paths or queries)
            )
        )
    else:
        from actionmfa.server import uvicorn_config, warm_up

        app = create_app(runtime, migrate=False)
        warm_routes(app)
        warm_up(runtime)
        uvicorn.Server(
            uvicorn_config(app, config, log_config=log_config(config.log_format), access_log=False)
        ).run()


def emit_startup_notes(config: ServerConfig, dialect: str) -> None:
    """Where things are on stdout (beside the bootstrap token); warnings through the log, so that
    they are JSON like every other line of stderr (``ACTIONMFA_LOG_FORMAT``)."""
    import logging

    log = logging.getLogger("actionmfa.startup")
    for line in startup_notes(config, dialect):
        if line.startswith(WARNING_PREFIX):
            log.warning(line.removeprefix(WARNING_PREFIX))
        else:
            typer.echo(line)


WARNING_PREFIX = "WARNING: "


def startup_notes(config: ServerConfig, dialect: str) -> list[str]:
    """What ``serve`` prints before it listens: where things are, and a loud warning when sign-in
    mail has nowhere to go (the first email sign-in would be a 503)."""
    base = config.effective_public_url
    lines = [
        f"Serving on http://{config.host}:{config.port} ({dialect})",
        f"  dashboard: {base}/dashboard   (sign in with the admin token)",
        f"  API docs:  {base}/docs        health: {base}/health",
    ]
    if config.mail_log:
        lines.append("  mail: printed to this log (--mail-log; development only: the log holds sign-in codes)")
    elif config.smtp.host:
        lines.append(f"  mail: SMTP via {config.smtp.host}:{config.smtp.port}")
    else:
        lines += [
            "WARNING: no mail delivery configured: email sign-in will answer 503 email_delivery_failed.",
            "WARNING: set ACTIONMFA_SMTP_HOST (and _PORT, _FROM), or start with --mail-log for development.",
        ]
    return lines


@app.command()
def demo() -> None:
    """Walk the whole story against an embedded server: sign-in, TOTP, wallet, gated signing, export."""
    import sys

    import httpx

    from actionmfa.demo import DemoError, run_demo
    from actionmfa.errors import ActionMFAError

    try:
        result = run_demo(sys.stdout)
    except (DemoError, ActionMFAError, httpx.HTTPError, RuntimeError) as err:  # expected: one line, no traceback
        typer.echo(f"demo stopped: {getattr(err, 'message', None) or err or type(err).__name__}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        typer.echo("demo interrupted", err=True)
        raise typer.Exit(code=130) from None
    ok = result["recovered"] == result["address"] == result["exported_address"]
    raise typer.Exit(code=0 if ok else 1)


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


# --- environment and user administration (works on the store directly: data dir / database URL) ---

env_app = typer.Typer(help="Environments (tenants): create, show, settings.", no_args_is_help=True)
users_app = typer.Typer(help="User administration.", no_args_is_help=True)
app.add_typer(env_app, name="env")
app.add_typer(users_app, name="users")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _admin_runtime(data_dir: Path | None, database_url: str | None, as_json: bool) -> Iterator[Runtime]:
    """A migrated runtime on the configured store; service errors become exit code 1."""
    from actionmfa.errors import ActionMFAError
    from actionmfa.services.runtime import Runtime

    runtime = Runtime.build(_config(data_dir, database_url))
    try:
        runtime.db.migrate()
        yield runtime
    except ActionMFAError as err:
        typer.echo(json.dumps(err.to_body()) if as_json else f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.db.dispose()


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _env_doc(env: Environment) -> dict[str, Any]:
    return {
        "id": env.id,
        "name": env.name,
        "settings": env.settings.model_dump(mode="json"),
        "createdAt": env.created_at.isoformat(),
        "updatedAt": env.updated_at.isoformat(),
    }


def _show_env(env: Environment, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_env_doc(env), indent=2))
        return
    mfa = env.settings.security.mfa
    ext = env.settings.security.externalAuth
    required = [a.action.value for a in mfa.actions if a.required] or ["(none)"]
    rows = [
        ["id", env.id],
        ["name", env.name],
        ["session MFA", "enabled" if mfa.enabled else "disabled"],
        ["enrollment", mfa.enrollment.value],
        ["methods", ", ".join(m.type.value for m in mfa.methods if m.enabled) or "(none)"],
        ["actions requiring MFA", ", ".join(required)],
        ["external auth", f"enabled (iss {ext.iss})" if ext.enabled else "disabled"],
        ["session lifetime", f"{env.settings.security.jwtDuration.amount} {env.settings.security.jwtDuration.unit}"],
        ["created", env.created_at.isoformat()],
    ]
    typer.echo(_table(["field", "value"], rows))


@env_app.command("create")
def env_create(
    name: Annotated[str, typer.Option("--name", help="Environment name.")],
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an environment and its admin token (the token is shown once)."""
    with _admin_runtime(data_dir, database_url, as_json) as runtime, runtime.db.write() as uow:
        created = runtime.environments.create(uow, name=name)
    if as_json:
        typer.echo(json.dumps({"environmentId": created.environment.id, "adminToken": created.admin_token}))
        return
    typer.echo(f"Created environment {created.environment.name!r}")
    typer.echo(f"  environmentId: {created.environment.id}")
    typer.echo(f"  adminToken:    {created.admin_token}   (shown once; store it now)")


@env_app.command("show")
def env_show(
    environment_id: Annotated[str, typer.Argument(metavar="ID", help="Environment id.")],
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Show an environment."""
    with _admin_runtime(data_dir, database_url, as_json) as runtime, runtime.db.read() as uow:
        env = runtime.environments.get(uow, environment_id)
    _show_env(env, as_json)


@env_app.command("settings")
def env_settings(
    environment_id: Annotated[str, typer.Argument(metavar="ID", help="Environment id.")],
    set_json: Annotated[
        str | None, typer.Option("--set", help="JSON settings patch, merged into the current settings.")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the JSON patch from a file.")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an environment's settings, or merge a patch into them (validated like the admin API)."""
    from actionmfa.errors import InvalidRequestError

    if set_json is not None and file is not None:
        raise typer.BadParameter("give --set or --file, not both")
    raw = file.read_text() if file is not None else set_json
    with _admin_runtime(data_dir, database_url, as_json) as runtime:
        patch: object | None = None
        if raw is not None:
            try:
                patch = json.loads(raw)
            except ValueError:
                raise InvalidRequestError("settings patch is not valid JSON", field="settings") from None
        with runtime.db.write() as uow:
            env = (
                runtime.environments.update(uow, environment_id, name=None, settings_patch=patch)
                if patch is not None
                else runtime.environments.get(uow, environment_id)
            )
    doc = env.settings.model_dump(mode="json")
    typer.echo(json.dumps(doc, indent=None if as_json else 2))


@users_app.command("list")
def users_list(
    environment_id: Annotated[str, typer.Argument(metavar="ENV", help="Environment id.")],
    limit: Annotated[int, typer.Option(help="At most this many users.", min=1, max=10_000)] = 100,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """List an environment's users."""
    with _admin_runtime(data_dir, database_url, as_json) as runtime, runtime.db.read() as uow:
        runtime.environments.get(uow, environment_id)
        users = uow.users.list(environment_id, limit=limit)
    if as_json:
        docs = [
            {
                "id": u.id,
                "email": u.email,
                "externalUserId": u.external_id,
                "alias": u.alias,
                "mfaBackupCodeAcknowledgement": u.mfa_backup_code_ack,
                "createdAt": u.created_at.isoformat(),
            }
            for u in users
        ]
        typer.echo(json.dumps({"users": docs, "count": len(docs)}))
        return
    rows = [[u.id, u.email or "", u.external_id or "", u.created_at.strftime("%Y-%m-%d %H:%M")] for u in users]
    typer.echo(_table(["id", "email", "external id", "created (UTC)"], rows))
    typer.echo(f"{len(users)} user(s)")


def main() -> None:
    from actionmfa.cli_mfa import register as register_mfa_commands  # users reset-mfa, keys rotate, totp qr

    register_mfa_commands(app)
    from actionmfa.cli_ops import register as register_ops_commands  # audit verify, backup

    register_ops_commands(app)
    from actionmfa.cli_env import register as register_env_commands  # env require

    register_env_commands(env_app)
    import actionmfa.pregenerated_cli  # noqa: F401 - registers `wallets pregenerate` on wallet_app
    from actionmfa.wallet_cli import wallet_app  # wallets locked|unlock|delegation approve|revoke|pregenerate

    app.add_typer(wallet_app, name="wallets")
    app.add_typer(wallet_app, name="wallet", hidden=True)  # the first spelling, kept
    from actionmfa.webhooks_cli import webhooks_app  # webhooks list, webhooks redeliver

    app.add_typer(webhooks_app, name="webhooks")
    app()


if __name__ == "__main__":
    main()
