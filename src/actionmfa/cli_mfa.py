"""MFA core commands: ``users reset-mfa``, ``keys rotate``, ``totp qr`` (registered into ``cli.app``)."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from actionmfa.config import KEYS_FILE, ServerConfig, load_keyring, write_keys_file
from actionmfa.crypto import Keyring

if TYPE_CHECKING:
    from actionmfa.services.runtime import Runtime

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _runtime(data_dir: Path | None, database_url: str | None, keyring: Keyring | None = None) -> Runtime:
    from actionmfa.services.runtime import Runtime

    config = ServerConfig.from_env(data_dir=data_dir, database_url=database_url)
    runtime = Runtime.build(config, keyring=keyring)
    runtime.db.migrate()
    return runtime


def reset_mfa(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a user's MFA devices, passkeys, recovery codes, tokens and lockout (audited)."""
    from actionmfa.errors import ActionMFAError

    runtime = _runtime(data_dir, database_url)
    reset = runtime.services.operator.mfa_reset
    try:
        env_id = reset.environment_of_user(user_id)
        reset.reset(env_id, user_id, client_address="cli")
    except ActionMFAError as err:
        typer.echo(json.dumps(err.to_body()) if as_json else f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.db.dispose()
    out = {"userId": user_id, "environmentId": env_id, "reset": True}
    typer.echo(json.dumps(out) if as_json else f"MFA reset for user {user_id} (environment {env_id}).")


def rotate_keys(data_dir: DataDirOpt = None, database_url: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Add a new encryption key, make it active, and re-encrypt TOTP secrets, pending recovery-code
    copies and signing keys under it. Old keys stay in the keyring so nothing becomes unreadable.

    With ``ACTIONMFA_ENCRYPTION_KEYS`` set, keys are the operator's to manage: put the new key first
    in the variable, then run this command to re-encrypt under it.
    """
    config = ServerConfig.from_env(data_dir=data_dir, database_url=database_url)
    path = config.data_dir / KEYS_FILE
    if config.encryption_keys and config.hash_key:
        keyring = load_keyring(config)
    else:
        old = load_keyring(config)
        n = 1
        while f"k{n}" in old.keys:
            n += 1
        new_id = f"k{n}"
        keyring = Keyring(
            keys={**old.keys, new_id: secrets.token_bytes(32)}, active_key_id=new_id, hash_key=old.hash_key
        )
        write_keys_file(path, keyring)
    runtime = _runtime(data_dir, database_url, keyring=keyring)
    try:
        count = runtime.services.operator.key_rotation.rotate()
    finally:
        runtime.db.dispose()
    out = {"activeKeyId": keyring.active_key_id, "reencrypted": count}
    typer.echo(json.dumps(out) if as_json else f"Active key {keyring.active_key_id}; re-encrypted {count} secrets.")


def totp_qr(
    uri: Annotated[str | None, typer.Argument(help="otpauth:// URI (read from stdin if omitted).")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Also write an SVG file.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Also write a PNG file.")] = None,
) -> None:
    """Show the QR code of a TOTP provisioning URI in the terminal (and optionally as SVG/PNG)."""
    from actionmfa.qr import qr_png, qr_svg, qr_terminal

    text = (uri or sys.stdin.readline()).strip()
    if not text.startswith("otpauth://"):
        typer.echo("error: not an otpauth:// URI", err=True)
        raise typer.Exit(2)
    typer.echo(qr_terminal(text))
    if svg:
        svg.write_bytes(qr_svg(text))
    if png:
        png.write_bytes(qr_png(text))


def _group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def register(app: typer.Typer) -> None:
    _group(app, "users", "User administration.").command("reset-mfa")(reset_mfa)
    _group(app, "keys", "Encryption keys.").command("rotate")(rotate_keys)
    _group(app, "totp", "TOTP helpers.").command("qr")(totp_qr)
