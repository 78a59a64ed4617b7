"""Storage for the audit log (table ``audit_log`` in :mod:`actionmfa.store.mfa_tables`): append, page.

Rows appended with :meth:`AuditRepo.add` are held by the unit of work and written together, in
one statement, when it flushes — just before its transaction commits (``Database.write``/``read``),
or before the log is read in the same transaction. A transaction that rolls back writes none of
them, exactly as when each was inserted at once (issue 15: one INSERT per transaction, not per row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from actionmfa.domain.records import AuditRow
from actionmfa.store.mfa_tables import audit_log

_INSERT = insert(audit_log)


class AuditRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._pending: list[dict[str, Any]] = []

    def add(self, values: Mapping[str, Any]) -> None:
        """Append one row (``values`` names the columns; the id is assigned by the database) — at
        the unit of work's flush, in order."""
        self._pending.append(dict(values))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._pending.extend(dict(r) for r in rows)
        self.flush()

    def flush(self) -> None:
        """Write the held rows now (one statement)."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        if len(rows) == 1:
            self.conn.execute(_INSERT, rows[0])
        else:
            self.conn.execute(_INSERT, rows)

    def page(self, environment_id: str, *, before_id: int | None, limit: int) -> list[AuditRow]:
        """Up to ``limit`` rows of the environment, newest first, with ids below ``before_id``."""
        self.flush()
        q = select(audit_log).where(audit_log.c.environment_id == environment_id)
        if before_id is not None:
            q = q.where(audit_log.c.id < before_id)
        rows = self.conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit)).all()
        return [
            AuditRow(
                id=r.id,
                environment_id=r.environment_id,
                user_id=r.user_id,
                session_id=r.session_id,
                event=r.event,
                action=r.action,
                outcome=r.outcome,
                details=r.details,
                client_address=r.client_address,
                created_at=r.created_at,
            )
            for r in rows
        ]
