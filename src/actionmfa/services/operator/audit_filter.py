"""The dashboard's audit-log filters: user, event, outcome and a time range.

Filtering walks the environment's events newest first, a page at a time, and keeps the matching
ones until a page is full or :data:`SCAN_LIMIT` events have been looked at; the cursor then points
past what was scanned, so "Older events" goes on from there. (The admin API's audit route keeps its
plain cursor paging; a filtered query in the store can replace the scan when logs grow large.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.operator.audit_log import AuditLog

PAGE = 50
SCAN_LIMIT = 2000


@dataclass(frozen=True)
class AuditFilter:
    user: str = ""  # user id, or its first characters
    event: str = ""  # e.g. "mfa" matches mfa.auth_failed, mfa.enrolled, …
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.user or self.event or self.outcome or self.since or self.until)

    def matches(self, row: dict[str, Any]) -> bool:
        if self.user and not str(row.get("userId") or "").startswith(self.user):
            return False
        if self.event and self.event not in str(row.get("event") or ""):
            return False
        if self.outcome and self.outcome != str(row.get("outcome") or ""):
            return False
        created = datetime.fromisoformat(str(row["createdAt"]))
        if self.since is not None and created < self.since:
            return False
        return not (self.until is not None and created > self.until)


def filtered_page(
    log: AuditLog, principal: AdminPrincipal, environment_id: str, cursor: int | None, filters: AuditFilter
) -> tuple[list[dict[str, Any]], int | None]:
    if not filters.active:
        page = log.page(principal, environment_id, cursor=cursor, limit=PAGE)
        return page.events, page.next_cursor
    kept: list[dict[str, Any]] = []
    scanned = 0
    while len(kept) < PAGE and scanned < SCAN_LIMIT:
        page = log.page(principal, environment_id, cursor=cursor, limit=PAGE)
        for row in page.events:
            scanned += 1
            cursor = int(row["id"])
            if filters.matches(row):
                kept.append(row)
                if len(kept) == PAGE:
                    return kept, cursor if page.next_cursor is not None or row is not page.events[-1] else None
        if page.next_cursor is None:
            return kept, None
    return kept, cursor
