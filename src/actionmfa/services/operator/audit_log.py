"""Reading the audit log: one environment's events, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actionmfa.domain.records import AuditRow
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.services.core.ports import CoreUnit, Transactions


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[dict[str, Any]]
    next_cursor: int | None  # the last id of this page when more follow


def event_view(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "action": row.action,
        "outcome": row.outcome,
        "userId": row.user_id,
        "sessionId": row.session_id,
        "clientAddress": row.client_address,
        "details": row.details,
        "createdAt": row.created_at.isoformat(),
    }


class AuditLog:
    def __init__(self, db: Transactions[CoreUnit], environments: EnvironmentService) -> None:
        self.db = db
        self.environments = environments

    def page(self, principal: AdminPrincipal, environment_id: str, *, cursor: int | None, limit: int) -> AuditPage:
        """``GET /api/v0/environments/{id}/audit`` (and the dashboard's audit page)."""
        principal.require(environment_id)
        with self.db.read() as uow:
            self.environments.get(uow, environment_id)
            rows = uow.audit.page(environment_id, before_id=cursor, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage([event_view(r) for r in rows], rows[-1].id if more and rows else None)
