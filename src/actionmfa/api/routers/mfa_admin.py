"""Operator routes of the MFA core (prefix ``/api/v0``): MFA reset and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from actionmfa.api.deps import AdminDep, MetaDep, OperatorDep
from actionmfa.api.responses import ADMIN

# Audit ids are 64-bit integers in both databases: a larger cursor is bad input, not a query to run.
MAX_CURSOR = 2**63 - 1

router = APIRouter(tags=["admin"], responses=ADMIN)


class MfaReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    userId: str
    reset: bool


class AuditEventOut(BaseModel):
    """One audit row. ``details`` depends on the event (never a secret); later fields may be added."""

    model_config = ConfigDict(extra="allow")

    id: int
    event: str
    action: str | None
    outcome: str | None
    userId: str | None
    sessionId: str | None
    clientAddress: str | None
    details: dict[str, Any] | None
    createdAt: str


class AuditPageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[AuditEventOut]
    count: int
    nextCursor: int | None


@router.post("/users/{userId}/mfa/reset", operation_id="resetUserMfa")
def reset_user_mfa(userId: str, admin: AdminDep, operator: OperatorDep, meta: MetaDep) -> MfaReset:
    operator.mfa_reset.reset_as(admin, userId, client_address=meta.client_address)
    return MfaReset(userId=userId, reset=True)


@router.get("/environments/{environmentId}/audit", operation_id="getAuditLog")
def audit_log(
    environmentId: str,
    admin: AdminDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_CURSOR)] = None,
) -> AuditPageOut:
    page = operator.audit_log.page(admin, environmentId, cursor=cursor, limit=limit)
    return AuditPageOut.model_validate(
        {"events": page.events, "count": len(page.events), "nextCursor": page.next_cursor}
    )
