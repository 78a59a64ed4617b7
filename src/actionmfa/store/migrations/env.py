"""Alembic environment: runs on the connection handed over by Database.migrate()."""

from __future__ import annotations

from alembic import context

from actionmfa.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only run through Database.migrate()
    raise RuntimeError("run migrations through actionmfa.store.db.Database.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
