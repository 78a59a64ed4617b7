"""Operations commands: ``audit verify`` and ``backup`` (registered into ``cli.app``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from actionmfa.config import ServerConfig
from actionmfa.domain.audit_chain import EnvironmentReport, parse_anchor

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (ACTIONMFA_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (ACTIONMFA_DATABASE_URL).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

audit_app = typer.Typer(help="The audit log: check its keyed hash chain.", no_args_is_help=True)


def _report_doc(report: EnvironmentReport) -> dict[str, Any]:
    return {
        "environmentId": report.chain or None,
        "intact": report.intact,
        "rows": report.rows,
        "legacyRows": report.legacy_rows,
        "shards": [
            {"shard": r.shard, "rows": r.rows, "head": {"seq": r.head_seq, "hash": r.head_hash}} for r in report.shards
        ],
        "anchor": str(report.anchor),
        "findings": [
            {"kind": f.kind.value, "shard": f.shard, "rowId": f.row_id, "seq": f.seq, "detail": f.detail}
            for f in report.findings
        ],
    }


def _report_line(r: EnvironmentReport) -> str:
    name = r.chain or "(no environment)"
    state = "intact" if r.intact else f"{len(r.findings)} problem(s)"
    legacy = f", {r.legacy_rows} older unsealed" if r.legacy_rows else ""
    heads = ", ".join(f"{shard}:{seq} {last[:16]}…" for shard, (seq, last) in sorted(r.heads.items()))
    shards = f" in {len(r.heads)} shard(s)" if len(r.heads) > 1 else ""
    return f"{name}: {state} — {r.rows} sealed row(s){legacy}{shards}; heads {heads or 'none'}; anchor {r.anchor}"


@audit_app.command("verify")
def audit_verify(
    environment: Annotated[
        str | None, typer.Option("--environment", help="Check one environment's chains (default: every environment).")
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="An anchor an earlier run printed for --environment: check the chains still "
                     "pass through it (catches a head rolled back with its rows)."),
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the audit log's hash chains with the server's key: report deleted, altered, reordered,
    inserted and moved rows, per environment (every shard). Exit status 0 when every chain is
    intact, 1 when something was found, 2 for a malformed --anchor."""
    from actionmfa.services.runtime import Runtime

    recorded = None
    if anchor is not None:
        try:
            if environment is None:
                raise ValueError("--anchor needs --environment (an anchor is one environment's)")
            recorded = parse_anchor(anchor)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    runtime = Runtime.build(ServerConfig.from_env(data_dir=data_dir, database_url=database_url))
    try:
        runtime.db.migrate()
        chain = runtime.services.operator.audit_chain
        reports = [chain.verify(environment, anchor=recorded)] if environment is not None else chain.verify_all()
    finally:
        runtime.db.dispose()
    intact = all(r.intact for r in reports)
    if as_json:
        typer.echo(json.dumps({"intact": intact, "chains": [_report_doc(r) for r in reports]}))
    else:
        for r in reports:
            typer.echo(_report_line(r))
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
