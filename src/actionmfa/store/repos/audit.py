"""Storage for the audit log (table ``audit_log`` in :mod:`actionmfa.store.mfa_tables`): append, page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from actionmfa.domain.records import AuditRow
from actionmfa.store.mfa_tables import audit_log


class AuditRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: Mapping[str, Any]) -> None:
        """Append one row (``values`` names the columns; the id is assigned by the database)."""
        self.conn.execute(insert(audit_log).values(**values))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.conn.execute(insert(audit_log), [dict(r) for r in rows])

    def page(self, environment_id: str, *, before_id: int | None, limit: int) -> list[AuditRow]:
        """Up to ``limit`` rows of the environment, newest first, with ids below ``before_id``."""
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
