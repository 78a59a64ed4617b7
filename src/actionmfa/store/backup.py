"""``actionmfa backup``: a consistent copy of a live SQLite store, through SQLite's online backup API
(``sqlite3.Connection.backup``, https://www.sqlite.org/backup.html): pages are copied from a read
snapshot while the server keeps writing; the copy is written to a temporary file beside the target
(mode 0600), checked with ``PRAGMA integrity_check`` and renamed into place, so a crash never leaves
half a backup under the target's name.

PostgreSQL is backed up with its own tool (:data:`PG_DUMP_ADVICE`). Either way the database alone
cannot be read back: TOTP secrets, signing keys and wallet shares are sealed with the keyring
(``keys.json`` or ``ACTIONMFA_ENCRYPTION_KEYS``/``ACTIONMFA_HASH_KEY``), which is kept — and backed
up — apart from the data.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PG_DUMP_ADVICE = """\
PostgreSQL: back up with pg_dump (consistent while the server runs), for example
  pg_dump --format=custom --no-owner --file actionmfa.dump "$DATABASE_URL"
and restore into an empty database with
  pg_restore --no-owner --dbname "$NEW_DATABASE_URL" actionmfa.dump
then start the server on it (it migrates to head). Keep keys.json (or ACTIONMFA_ENCRYPTION_KEYS and
ACTIONMFA_HASH_KEY) with the backup, stored apart from it: without the keys the dump is unreadable,
and a dump stolen without them reveals no secret. (A postgresql+psycopg:// URL is given to pg_dump
as postgresql://.)"""


class NotSqlite(ValueError):
    """The store is not a SQLite file (PostgreSQL: see :data:`PG_DUMP_ADVICE`)."""


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise NotSqlite(parsed.get_backend_name())
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def backup_sqlite(url: str, target: Path, *, pages_per_step: int = 1024) -> int:
    """Copy the live database at ``url`` to ``target``; return the backup's size in bytes."""
    source = sqlite_path(url)
    if not source.exists():
        raise FileNotFoundError(source)
    target = target.resolve()
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=pages_per_step)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                (result,) = dst.execute("PRAGMA integrity_check").fetchone()
                if result != "ok":
                    raise RuntimeError(f"backup failed its integrity check: {result}")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.stat().st_size
