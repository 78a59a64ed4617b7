"""The hot routes' thread pool is sized for the database (store/db.py, api/threads.py; issue 15)."""

from __future__ import annotations

from actionmfa.api.app import create_app
from actionmfa.config import REQUEST_THREADS
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import SQLITE_REQUEST_THREADS


def test_the_pool_fits_the_database(runtime_any: Runtime) -> None:
    app = create_app(runtime_any, migrate=False)
    expected = SQLITE_REQUEST_THREADS if runtime_any.db.dialect == "sqlite" else REQUEST_THREADS
    assert app.state.threads.size == runtime_any.db.request_threads == expected
