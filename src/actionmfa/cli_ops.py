"""Operations commands: ``audit verify`` and ``backup`` (registered into ``cli.app``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from actionmfa.config import ServerConfig
from actionmfa.domain.audit_chain import ChainReport

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

audit_app = typer.Typer(help="The audit log: check its keyed hash chain.", no_args_is_help=True)


def _report_doc(report: ChainReport) -> dict[str, Any]:
    return {
        "environmentId": report.chain or None,
        "intact": report.intact,
        "rows": report.rows,
        "legacyRows": report.legacy_rows,
        "head": {"seq": report.head_seq, "hash": report.head_hash},
        "findings": [
            {"kind": f.kind.value, "rowId": f.row_id, "seq": f.seq, "detail": f.detail} for f in report.findings
        ],
    }


@audit_app.command("verify")
def audit_verify(
    environment: Annotated[
        str | None, typer.Option("--environment", help="Check one environment's chain (default: every chain).")
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the audit log's hash chains with the server's key: report deleted, altered, reordered
    and inserted rows. Exit status 0 when every chain is intact, 1 when something was found."""
    from actionmfa.services.runtime import Runtime

    runtime = Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))
    try:
        runtime.db.migrate()
        chain = runtime.services.operator.audit_chain
        reports = [chain.verify(environment)] if environment is not None else chain.verify_all()
    finally:
        runtime.db.dispose()
    intact = all(r.intact for r in reports)
    if as_json:
        typer.echo(json.dumps({"intact": intact, "chains": [_report_doc(r) for r in reports]}))
    else:
        for r in reports:
            name = r.chain or "(no environment)"
            state = "intact" if r.intact else f"{len(r.findings)} problem(s)"
            legacy = f", {r.legacy_rows} older unsealed" if r.legacy_rows else ""
            head = f"head seq {r.head_seq} {r.head_hash[:16]}…" if r.head_hash else "no head"
            typer.echo(f"{name}: {state} — {r.rows} sealed row(s){legacy}; {head}")
            for f in r.findings:
                typer.echo(f"  {f.kind.value}: {f.detail}")
    raise typer.Exit(0 if intact else 1)


def backup(
    target: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the copy of the database.")],
    keys_to: Annotated[
        Path | None, typer.Option("--keys-to", help="Also copy keys.json here (mode 0600); keep it apart.")
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the live SQLite database with SQLite's online backup API (the server keeps running).
    On PostgreSQL, print how to use pg_dump instead (exit status 2)."""
    import shutil

    from actionmfa.config import KEYS_FILE
    from actionmfa.store.backup import PG_DUMP_ADVICE, NotSqlite, backup_sqlite

    config = ServerConfig.from_env(data_dir=data_dir, database_url=database_url)
    try:
        size = backup_sqlite(config.effective_database_url, target)
    except NotSqlite:
        typer.echo(PG_DUMP_ADVICE, err=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: no SQLite database to back up ({exc})", err=True)
        raise typer.Exit(1) from None
    keys_copied = None
    if keys_to is not None:
        source = config.data_dir / KEYS_FILE
        if not source.exists():
            typer.echo("error: no keys.json in the data dir (keys come from the environment?)", err=True)
            raise typer.Exit(1)
        keys_to.touch(mode=0o600, exist_ok=True)
        keys_to.chmod(0o600)
        shutil.copyfile(source, keys_to)
        keys_copied = str(keys_to)
    if as_json:
        typer.echo(json.dumps({"file": str(target), "bytes": size, "keys": keys_copied}))
        return
    typer.echo(f"Backed up the database to {target} ({size} bytes).")
    if keys_copied:
        typer.echo(f"Copied the keys to {keys_copied}: store it apart from the database backup.")
    else:
        typer.echo("The keys (keys.json, or ACTIONMFA_ENCRYPTION_KEYS/_HASH_KEY) are not in it: back them up apart.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.command("backup")(backup)
