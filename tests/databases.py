"""Real databases for tests: a migrated SQLite file, and PostgreSQL when one can be had.

PostgreSQL comes from ``ACTIONMFA_TEST_DATABASE_URL``, else the server on 127.0.0.1:5432 (database
``test``, user ``postgres``, trust auth) if it answers, else a throwaway cluster started with the
PostgreSQL binaries if they exist; otherwise PostgreSQL tests are skipped with the reason.
Each test gets its own database cloned from a migrated template, so tests never see each
other's rows and parallel runs do not collide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from actionmfa.store.db import Database

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _answers(url: str) -> bool:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class PostgresProvider:
    def __init__(self) -> None:
        self.admin_url: str | None = None
        self.reason = ""
        self._cluster_dir: str | None = None
        self._template: str | None = None

    def start(self) -> None:
        explicit = os.environ.get("ACTIONMFA_TEST_DATABASE_URL")
        if explicit:
            url = str(make_url(explicit).set(drivername="postgresql+psycopg"))
            if not _answers(url):
                self.reason = f"ACTIONMFA_TEST_DATABASE_URL does not answer: {explicit}"
                return
            self.admin_url = url
            return
        if _answers(DEFAULT_PG):
            self.admin_url = DEFAULT_PG
            return
        self._start_cluster()

    def _start_cluster(self) -> None:
        initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
        if not initdb:
            self.reason = "no PostgreSQL reachable and no PostgreSQL binaries to start one"
            return
        bindir = Path(initdb).parent
        self._cluster_dir = tempfile.mkdtemp(prefix="actionmfa-pg-")
        data = Path(self._cluster_dir) / "data"
        port = 55432 + os.getpid() % 1000
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root; run as the postgres user if it exists
            shutil.chown(self._cluster_dir, "postgres")
            run_as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *run_as,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                f"-p {port} -k {self._cluster_dir} -h 127.0.0.1",
                "-w",
                "start",
                "-l",
                str(Path(self._cluster_dir) / "log"),
            ],
            check=True,
            capture_output=True,
        )
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self._bindir = bindir
        self._run_as = run_as

    def template(self) -> str:
        """A migrated database to clone from (created once per test run)."""
        assert self.admin_url is not None
        if self._template is None:
            name = f"amfa_tpl_{uuid.uuid4().hex[:10]}"
            self._exec(f'CREATE DATABASE "{name}"')
            db = Database(str(make_url(self.admin_url).set(database=name)))
            db.migrate()
            db.dispose()
            self._template = name
        return self._template

    def fresh_url(self) -> str:
        assert self.admin_url is not None
        name = f"amfa_t_{uuid.uuid4().hex[:12]}"
        for attempt in range(20):
            try:
                self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template()}"')
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.1)  # template busy (another clone in progress)
        return str(make_url(self.admin_url).set(database=name))

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _exec(self, sql: str) -> None:
        assert self.admin_url is not None
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self._template:
            with contextlib.suppress(Exception):  # best-effort cleanup
                self._exec(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        if self._cluster_dir:
            subprocess.run(
                [
                    *self._run_as,
                    str(self._bindir / "pg_ctl"),
                    "-D",
                    str(Path(self._cluster_dir) / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                check=False,
            )
            shutil.rmtree(self._cluster_dir, ignore_errors=True)


class SqliteProvider:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._template: Path | None = None

    def fresh_url(self) -> str:
        if self._template is None:
            self._template = self.root / "template.db"
            db = Database(f"sqlite:///{self._template}")
            db.migrate()
            db.dispose()
        target = self.root / f"t_{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"
