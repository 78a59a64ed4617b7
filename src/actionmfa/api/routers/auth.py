"""Sign-in and session lifecycle routes (prefix ``/api/v0/sdk/{environmentId}``)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from actionmfa.api.deps import PendingAuthDep, RuntimeDep
from actionmfa.api.schemas import VerifyResponse

router = APIRouter(tags=["auth"])


@router.post("/refresh", response_model=VerifyResponse)
def refresh(ctx: PendingAuthDep, runtime: RuntimeDep) -> VerifyResponse:
    with runtime.db.write() as uow:
        issued = runtime.sessions.refresh(uow, ctx)
    return VerifyResponse.of(issued)


@router.post("/logout", status_code=204)
def logout(ctx: PendingAuthDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as uow:
        runtime.sessions.logout(uow, ctx)
    return Response(status_code=204)
