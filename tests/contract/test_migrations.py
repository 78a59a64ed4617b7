"""Alembic migrations and the table metadata the code queries with describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from actionmfa.store.db import MIGRATIONS_DIR, Database
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
