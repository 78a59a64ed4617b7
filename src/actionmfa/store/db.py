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

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool

from actionmfa.config import REQUEST_THREADS
from actionmfa.store.uow import UnitOfWork

log = logging.getLogger("actionmfa.store")
try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process lock and the busy timeout only
    fcntl = None  # type: ignore[assignment]

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
        hide_parameters=True,  # a driver error in the log must not carry an email or a hash
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


# The request threads of one worker: ``Database.request_threads`` in the app's own pool
# (api/threads.py: the session dependencies and the hot routes) and config.REQUEST_THREADS in
# anyio's limiter (the remaining plain routes; api/app.py sets it). Each of those threads holds at
# most one connection at a time, so a PostgreSQL pool of both together (REQUEST_THREADS +
# PG_REQUEST_THREADS), overflowing to twice it, never opens and closes connections per request
# (issue 15: a pool of 10 under a pool of 40 threads churned 82–118 connections per 10 s).
#
# The hot routes get few threads on both databases: every runnable thread is one more taker of the
# GIL. On SQLite one of them writes at a time (the writer locks below), and every further thread
# took the GIL from the writer each time it gave it up for a statement — with 40 threads the writer,
# holding the lock, waited behind them, and the rest queued on the lock in no particular order
# (issue 15: the lock wait was the p99 of TOTP auth). On PostgreSQL each statement is a round trip
# that gives the GIL up and takes it back, and with 40 threads each return queued behind more takers:
# ~32–35 voluntary context switches per TOTP auth against ~24 with 8 (perf put a quarter of the
# worker's CPU in the kernel's task switching on this VM). With 8: TOTP p99 252–320 ms against
# 350–856, the thread pool's own GIL time 0.14 → 0.06 ms per auth (py-spy, 1 worker, c=16, paired
# runs at load 9); 2 threads no longer cover the round trips (−30 % accepted/s). Requests beyond
# these threads wait in the pool's queue, which is first come, first served.
SQLITE_REQUEST_THREADS = 4
PG_REQUEST_THREADS = 8


PGBOUNCER_PORT = 6432  # its default listen_port


def create_db_engine(url: str, *, pool_size: int = REQUEST_THREADS + PG_REQUEST_THREADS) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the URL object: str() would mask the password
    connect_args: dict[str, Any] = {}
    if "prepare_threshold" in parsed.query:
        # ``?prepare_threshold=none`` behind pgbouncer < 1.21 in transaction mode: psycopg prepares a
        # statement on the server after 5 runs, and the next transaction may get another server
        # connection, which does not know it. Not a libpq parameter, so it is taken off the URL.
        value = str(parsed.query["prepare_threshold"])
        connect_args["prepare_threshold"] = None if value.lower() in ("", "none", "off") else int(value)
        parsed = parsed.difference_update_query(["prepare_threshold"])
    elif parsed.port == PGBOUNCER_PORT:
        # Kept on by default: without them PostgreSQL's CPU per TOTP auth doubled (0.9–1.3 → 2.3–2.6 ms,
        # issue 15.3). But behind pgbouncer < 1.21 in transaction mode a request's ``EXECUTE _pg3_0``
        # can run the statement another client prepared under that name: answers from another query.
        log.warning(
            "the database URL's port is %d, pgbouncer's default: behind pgbouncer < 1.21 in transaction "
            "mode add ?prepare_threshold=none (server-side prepared statements would be shared between "
            "clients; docs/operations.md, Scaling out)", PGBOUNCER_PORT,
        )
    # No pre-ping: it is one more round trip at every checkout, i.e. per transaction. A connection
    # the server dropped fails its statement once and SQLAlchemy then invalidates the whole pool;
    # pool_recycle retires connections before any idle timeout in between (pgbouncer's included).
    return create_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, hide_parameters=True,
        connect_args=connect_args,
    )


class _ProcessWriterLock:
    """SQLite's one writer, queued for across processes: an exclusive ``flock`` on
    ``<database>-writer.lock`` held around each write transaction.

    Without it, the writers of two worker processes meet inside SQLite, whose busy handler sleeps
    with back-off (up to 100 ms a turn) before retrying ``BEGIN IMMEDIATE``: that sleep was the long
    p99 of TOTP auth with 2 workers (issue 15: 167–765 ms vs 77–96 ms with 1). A writer waiting in
    ``flock`` is woken by the kernel the moment the lock is released. Readers never take it (WAL
    lets them read while one writer writes). Re-entrant per thread, as the in-process lock is.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._local = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks in the kernel, without the GIL
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def _sqlite_file(url: str) -> str | None:
    database = make_url(url).database
    if not database or database == ":memory:" or "mode=memory" in url:
        return None
    return database


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = REQUEST_THREADS + PG_REQUEST_THREADS,
        audit_key: bytes | None = None,
        audit_shards: int | None = None,
    ) -> None:
        self.url = url
        self.audit_key = audit_key
        self.audit_shards = audit_shards  # the audit chain's shards per environment (None: the dialect's default)
        # Called with the audit rows of each transaction once it has committed (the metrics).
        self.audit_observers: list[Callable[[Sequence[Mapping[str, Any]]], None]] = []
        self._head_revision: str | None = None
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self._sqlite_writer = threading.RLock()
        path = _sqlite_file(url) if self.dialect == "sqlite" else None
        self._process_writer = _ProcessWriterLock(f"{path}-writer.lock") if path and fcntl is not None else None

    @property
    def request_threads(self) -> int:
        """Threads for one worker's hot routes on this database (see PG_REQUEST_THREADS)."""
        return SQLITE_REQUEST_THREADS if self.dialect == "sqlite" else PG_REQUEST_THREADS

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        if self.dialect == "sqlite":
            # SQLite has one writer. Threads of this process queue on a lock, and processes on a
            # file lock (:class:`_ProcessWriterLock`), instead of on SQLite's busy handler, whose
            # back-off sleeps (up to 100 ms each) made the latency tail: TOTP auth at 16
            # connections, p95 543/442 ms without, 100/110 ms with the in-process lock
            # (benchmarks/mfa_bench.py, 800 requests, same throughput ±8 %). The pool's check-out
            # and check-in need not be serialised, and stay outside the locks.
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="IMMEDIATE")
                with self._sqlite_writer, self._held(), conn.begin():
                    uow = UnitOfWork(conn, audit_key=self.audit_key, audit_shards=self.audit_shards)
                    yield uow
                    sealed = uow.before_commit()
            self._committed(sealed)
            return
        with self.engine.connect() as conn, conn.begin():
            uow = UnitOfWork(conn, audit_key=self.audit_key, audit_shards=self.audit_shards)
            yield uow
            sealed = uow.before_commit()
        self._committed(sealed)

    def _held(self) -> AbstractContextManager[None]:
        return self._process_writer.held() if self._process_writer is not None else nullcontext()

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self.engine.connect() as conn, conn.begin():
            uow = UnitOfWork(conn, audit_key=self.audit_key, audit_shards=self.audit_shards)
            yield uow
            sealed = uow.before_commit()
        self._committed(sealed)

    def _committed(self, audit_rows: Sequence[Mapping[str, Any]]) -> None:
        if not audit_rows:
            return
        for observe in self.audit_observers:
            try:
                observe(audit_rows)
            except Exception:  # an observer (metrics) must never fail a committed transaction
                log.exception("audit observer failed")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # health check reports, never raises
            return False

    def schema_revision(self) -> tuple[str | None, str]:
        """(the database's Alembic revision, the code's head revision) for ``/health/ready``."""
        if self._head_revision is None:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            self._head_revision = str(ScriptDirectory.from_config(cfg).get_current_head())
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return current, self._head_revision

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
                uow = UnitOfWork(conn, audit_key=self.audit_key, audit_shards=self.audit_shards)
                yield uow
                sealed = uow.before_commit()
        self._committed(sealed)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic), under the start-up lock."""
        with self.startup():
            pass

    def dispose(self) -> None:
        self.engine.dispose()
        if self._process_writer is not None:
            self._process_writer.close()
            self._process_writer = None
