"""Operator routes of the MFA core (prefix ``/api/v0``): MFA reset and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actionmfa.api.deps import AdminDep, MetaDep, OperatorDep

# Audit ids are 64-bit integers in both databases: a larger cursor is bad input, not a query to run.
MAX_CURSOR = 2**63 - 1

router = APIRouter(tags=["admin"])


@router.post("/users/{userId}/mfa/reset")
def reset_user_mfa(userId: str, admin: AdminDep, operator: OperatorDep, meta: MetaDep) -> dict[str, Any]:
    operator.mfa_reset.reset_as(admin, userId, client_address=meta.client_address)
    return {"userId": userId, "reset": True}


@router.get("/environments/{environmentId}/audit")
def audit_log(
    environmentId: str,
    admin: AdminDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_CURSOR)] = None,
) -> dict[str, Any]:
    page = operator.audit_log.page(admin, environmentId, cursor=cursor, limit=limit)
    return {"events": page.events, "count": len(page.events), "nextCursor": page.next_cursor}
