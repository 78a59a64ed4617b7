"""Counted events of the unauthenticated sign-in routes (``signin_attempts``; issue 11.1)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, text

from actionmfa.store import tables as t


class SignInAttemptRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def serialize(self, key: str) -> None:
        """Hold a transaction-scoped lock on ``key`` so that count-then-add is exact across workers.

        PostgreSQL: ``pg_advisory_xact_lock`` (released at commit or rollback). SQLite: nothing to
        do — every write transaction already holds the database's one write lock (BEGIN IMMEDIATE).
        """
        if self.conn.dialect.name == "postgresql":
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})

    def add(self, *, environment_id: str, kind: str, email: str | None, client: str, at: datetime) -> None:
        values = {"environment_id": environment_id, "kind": kind, "email": email, "client": client, "at": at}
        self.conn.execute(insert(t.signin_attempts).values(**values))

    def count(
        self,
        environment_id: str,
        kinds: tuple[str, ...],
        since: datetime,
        *,
        email: str | None = None,
        client: str | None = None,
    ) -> int:
        """Events of these kinds after ``since`` for the address, the client, or the pair."""
        c = t.signin_attempts.c
        q = (
            select(func.count())
            .select_from(t.signin_attempts)
            .where(c.environment_id == environment_id, c.kind.in_(kinds), c.at > since)
        )
        if email is not None:
            q = q.where(c.email == email)
        if client is not None:
            q = q.where(c.client == client)
        return int(self.conn.execute(q).scalar_one())

    def purge(self, before: datetime) -> int:
        """Drop events older than ``before`` (they no longer count toward any limit)."""
        return int(self.conn.execute(delete(t.signin_attempts).where(t.signin_attempts.c.at < before)).rowcount)
