"""Engine, transactions and migrations.

``Database.write()`` opens a write transaction: on SQLite it starts with ``BEGIN IMMEDIATE`` so
that the conditional updates that make tokens single-use serialise instead of failing with
``database is locked`` on upgrade; on PostgreSQL it is a READ COMMITTED transaction in which
``UPDATE … WHERE used_at IS NULL`` row locks give the same guarantee. ``Database.read()`` is a
plain (deferred) transaction.

Both seal the audit rows the transaction wrote into their chains just before committing
(:meth:`actionmfa.store.repos.audit.AuditRepo.flush`), with the key given as ``audit_key``
(``Runtime.build`` derives it from the keyring; it is never stored in the database).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool

from actionmfa.store.uow import UnitOfWork

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x414D4641  # "AMFA": advisory lock id so concurrent workers migrate once


def _set_wal(cur: Any, *, seconds: float = 30.0) -> None:
    """``PRAGMA journal_mode=WAL``, retried: on a fresh file, processes starting together race to
    switch it and SQLite answers the loser "database is locked" at once, without its busy handler."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(url: str) -> Engine:
    # A pool of open connections: opening and closing a SQLite connection per transaction costs
    # a WAL checkpoint each time (measured as the largest cost of a request in the MFA profile).
    memory = ":memory:" in url or url in ("sqlite://", "sqlite:///")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else QueuePool,
        **({} if memory else {"pool_size": 8, "max_overflow": 56}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        _set_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, audit_key: bytes | None = None) -> None:
        self.url = url
        self.audit_key = audit_key
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self._sqlite_writer = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        if self.dialect == "sqlite":
            # SQLite has one writer. Threads of this process queue on a lock instead of on SQLite's
            # busy handler, whose back-off sleeps (up to 100 ms each) made the latency tail: TOTP
            # auth at 16 connections, p95 543/442 ms without, 100/110 ms with (benchmarks/mfa_bench.py,
            # 800 requests, same throughput ±8 %). Other processes still meet BEGIN IMMEDIATE and
            # the busy timeout.
            with self._sqlite_writer, self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    uow = UnitOfWork(conn, audit_key=self.audit_key)
                    yield uow
                    uow.before_commit()
            return
        with self.engine.connect() as conn, conn.begin():
            uow = UnitOfWork(conn, audit_key=self.audit_key)
            yield uow
            uow.before_commit()

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self.engine.connect() as conn, conn.begin():
            uow = UnitOfWork(conn, audit_key=self.audit_key)
            yield uow
            uow.before_commit()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # health check reports, never raises
            return False

    @contextmanager
    def startup(self) -> Iterator[UnitOfWork]:
        """One transaction under the database's start-up lock: migrations to head, then whatever
        the block writes (the bootstrap), committed together (issue 11.3).

        PostgreSQL: ``pg_advisory_xact_lock`` (transactional DDL, released at commit). SQLite:
        ``BEGIN IMMEDIATE`` (the database's one write lock; other processes wait on the busy
        timeout instead of failing with ``database is locked`` when a deferred transaction tries
        to upgrade). N servers starting together on a fresh store therefore migrate once and
        bootstrap once; the others find the schema at head and the store not empty.
        """
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._sqlite_writer, self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")  # alembic joins the open transaction
                yield UnitOfWork(conn)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic), under the start-up lock."""
        with self.startup():
            pass

    def dispose(self) -> None:
        self.engine.dispose()
