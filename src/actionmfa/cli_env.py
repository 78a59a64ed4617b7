"""``actionmfa env require``: make actions require MFA from the command line (registered into ``cli.app``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from actionmfa.cli import DataDirOpt, DbOpt, JsonFlag
from actionmfa.config import ServerConfig

if TYPE_CHECKING:
    from actionmfa.services.runtime import Runtime


def _config(data_dir: Path | None, database_url: str | None) -> ServerConfig:
    return ServerConfig.from_env(data_dir=data_dir, database_url=database_url)


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


def _default_environment(runtime: Runtime, config: ServerConfig) -> str:
    """The environment ``--env`` names by default: the one ``serve`` bootstrapped (its
    ``bootstrap.json``), else the only one there is."""
    from actionmfa.errors import InvalidRequestError

    boot = config.data_dir / "bootstrap.json"
    if boot.exists():
        try:
            return str(json.loads(boot.read_text())["environmentId"])
        except (ValueError, KeyError, TypeError):
            pass
    with runtime.db.read() as uow:
        envs = uow.environments.list()
    if len(envs) == 1:
        return envs[0].id
    raise InvalidRequestError("several environments: say which one with --env ID", field="env")


def env_require(
    actions: Annotated[
        list[str], typer.Argument(metavar="ACTION...", help="e.g. wallet.waas.sign wallet.waas.export user.update")
    ],
    environment_id: Annotated[
        str | None, typer.Option("--env", help="Environment id (default: the bootstrapped one).")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop requiring MFA for these actions.")] = False,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Require MFA for actions (DESIGN §4: once the user has a method, or always with enrollment
    signup/action). The running server sees the change at the next request."""
    from actionmfa.domain.actions import MFAAction
    from actionmfa.errors import InvalidRequestError

    known = {a.value for a in MFAAction}
    with _admin_runtime(data_dir, database_url, as_json) as runtime:
        unknown = [a for a in actions if a not in known]
        if unknown:
            raise InvalidRequestError(
                f"unknown action {unknown[0]!r}; one of {', '.join(sorted(known))}", field="action"
            )
        env_id = environment_id or _default_environment(runtime, _config(data_dir, database_url))
        with runtime.db.write() as uow:
            current = runtime.environments.get(uow, env_id)
            mfa = current.settings.security.mfa
            by_name = {a.action.value: a.model_dump(mode="json", exclude_none=True) for a in mfa.actions}
            for name in actions:
                by_name[name] = {**by_name.get(name, {"action": name}), "required": not off}
            patch = {"security": {"mfa": {"actions": list(by_name.values())}}}
            env = runtime.environments.update(uow, env_id, name=None, settings_patch=patch)
    required = [a.action.value for a in env.settings.security.mfa.actions if a.required]
    if as_json:
        typer.echo(json.dumps({"environmentId": env.id, "required": required}))
        return
    verb = "no longer requires" if off else "requires"
    typer.echo(f"Environment {env.id} {verb} MFA for {', '.join(actions)}.")
    typer.echo(f"  actions requiring MFA: {', '.join(required) or '(none)'}")
    if not off and env.settings.security.mfa.enrollment.value == "none":
        typer.echo("  (enrollment is 'none': MFA is asked once the user has a method; with 'action' users")
        typer.echo("   without one must enrol first — set it in the dashboard or with actionmfa env settings)")


def register(env_app: typer.Typer) -> None:
    """Add ``require`` to the ``env`` group (once)."""
    if not any(c.name == "require" for c in env_app.registered_commands):
        env_app.command("require")(env_require)
