"""Operator routes of the MFA core (prefix ``/api/v0``): MFA reset and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actionmfa.api.deps import AdminDep, MetaDep, RuntimeDep
from actionmfa.services.core import audit
from actionmfa.services.operator import mfa_reset as mfa_admin

router = APIRouter(tags=["admin"])


@router.post("/users/{userId}/mfa/reset")
def reset_user_mfa(userId: str, admin: AdminDep, runtime: RuntimeDep, meta: MetaDep) -> dict[str, Any]:
    environment_id = mfa_admin.environment_of_user(runtime, userId)
    admin.require(environment_id)
    mfa_admin.admin_reset(runtime, environment_id, userId, client_address=meta.client_address)
    return {"userId": userId, "reset": True}


@router.get("/environments/{environmentId}/audit")
def audit_log(
    environmentId: str,
    admin: AdminDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    admin.require(environmentId)
    with runtime.db.read() as uow:
        runtime.environments.get(uow, environmentId)
        items, next_cursor = audit.page(uow, environmentId, cursor=cursor, limit=limit)
    return {"events": items, "count": len(items), "nextCursor": next_cursor}
