"""Alembic migrations and the table metadata the code queries with describe the same schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Inspector, delete, inspect, text

from actionmfa.domain import audit_chain
from actionmfa.store.db import MIGRATIONS_DIR, Database
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log
from actionmfa.store.schema import metadata


def test_migrated_schema_matches_metadata(database_url: str) -> None:
    """Run against a database migrated to head, on SQLite and on PostgreSQL (``database_url``)."""
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        db.dispose()
    assert diff == [], "\n".join(str(d) for d in diff)
    assert set(metadata.tables) <= tables


def test_migration_chain_is_linear_and_migrating_again_is_a_no_op(database_url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions[-1] == "0001" and revisions == sorted(revisions, reverse=True)
    db = Database(database_url)
    try:
        db.migrate()
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == heads[0]
    finally:
        db.dispose()


@contextmanager
def _inspected(url: str) -> Iterator[Inspector]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            yield inspect(conn)
    finally:
        db.dispose()


def _alembic(url: str, step: str, revision: str) -> None:
    """``alembic upgrade|downgrade REVISION`` on ``url``, in one transaction as Database.migrate runs it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, step)(cfg, revision)
    finally:
        db.dispose()


def test_0016_shards_keep_the_chains_written_before_them(database_url: str) -> None:
    """Migration 0016 (audit chain shards): a chain sealed by the code of before (one chain per
    environment, no shard column) verifies after the upgrade with no rewrite — it is shard 0 —
    and new rows of other shards verify beside it; downgrade refuses while a row is in a shard
    above 0 (the older code would read it as altered), and works once none is."""
    _alembic(database_url, "downgrade", "0015")
    key, env, now = bytes(range(32)), "env-old", datetime(2026, 1, 1, tzinfo=UTC)
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            prev = audit_chain.genesis(key, env)
            for seq in (1, 2, 3):
                row = {"environment_id": env, "user_id": f"user-{seq}", "event": "gate.allowed", "details": {},
                       "created_at": now}
                seal = audit_chain.link(key, env, seq, prev, audit_chain.canonical_content(row))
                conn.execute(text("INSERT INTO audit_log (environment_id, user_id, event, details, created_at, "
                                  "chain_seq, chain_prev, chain_hash) VALUES (:e, :u, :ev, '{}', :t, :s, :p, :h)"),
                             {"e": env, "u": row["user_id"], "ev": row["event"], "t": now, "s": seq, "p": prev,
                              "h": seal})
                prev = seal
            conn.execute(text("INSERT INTO audit_chain_heads (chain, seq, last_hash) VALUES (:c, 3, :h)"),
                         {"c": env, "h": prev})
    finally:
        db.dispose()
    _alembic(database_url, "upgrade", "head")
    db = Database(database_url, audit_key=key, audit_shards=8)
    try:
        with db.read() as uow:
            report = audit_chain.verify_environment(key, env, uow.audit.chained_rows(env), uow.audit.heads(env))
        assert report.intact and report.rows == 3 and report.heads == {0: (3, prev)}
        with db.write() as uow:
            for i in range(8):
                uow.audit.add({"environment_id": env, "user_id": f"new-{i}", "event": "gate.allowed",
                               "details": {}, "created_at": now})
        with db.read() as uow:
            report = audit_chain.verify_environment(key, env, uow.audit.chained_rows(env), uow.audit.heads(env))
        assert report.intact and report.rows == 11 and len(report.heads) > 2
        with pytest.raises(RuntimeError, match="chain shards above 0"):
            _alembic(database_url, "downgrade", "0015")
        with db.engine.begin() as conn:  # the refusal rolled back: still at head, nothing lost
            assert MigrationContext.configure(conn).get_current_revision() == "0016"
            conn.execute(delete(audit_log).where(audit_log.c.chain_shard != 0))
            conn.execute(delete(audit_chain_heads).where(audit_chain_heads.c.shard != 0))
    finally:
        db.dispose()
    _alembic(database_url, "downgrade", "0015")
    with _inspected(database_url) as schema:
        assert {c["name"] for c in schema.get_columns("audit_chain_heads")} == {"chain", "seq", "last_hash"}
        assert schema.get_pk_constraint("audit_chain_heads")["constrained_columns"] == ["chain"]
        assert "chain_shard" not in {c["name"] for c in schema.get_columns("audit_log")}
    _alembic(database_url, "upgrade", "head")
    with _inspected(database_url) as schema:
        assert schema.get_pk_constraint("audit_chain_heads")["constrained_columns"] == ["chain", "shard"]
