"""The hot routes' thread pool is sized for the database (store/db.py, api/threads.py; issue 15)."""

from __future__ import annotations

from actionmfa.api.app import create_app
from actionmfa.config import REQUEST_THREADS
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import PG_REQUEST_THREADS, SQLITE_REQUEST_THREADS


def test_the_pool_fits_the_database(runtime_any: Runtime) -> None:
    app = create_app(runtime_any, migrate=False)
    expected = SQLITE_REQUEST_THREADS if runtime_any.db.dialect == "sqlite" else PG_REQUEST_THREADS
    assert app.state.threads.size == runtime_any.db.request_threads == expected


def test_the_postgresql_pool_holds_a_connection_for_every_request_thread(runtime_any: Runtime) -> None:
    """Both thread pools' threads (the hot routes' and anyio's) each hold a connection at most: the
    pool keeps that many open, so none is opened and closed per request (issue 15)."""
    pool = runtime_any.db.engine.pool
    if runtime_any.db.dialect != "postgresql":
        return
    assert pool.size() >= REQUEST_THREADS + runtime_any.db.request_threads  # type: ignore[attr-defined]
