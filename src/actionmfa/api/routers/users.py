"""The signed-in user (``GET``/``PUT /users``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AuthDep, PendingAuthDep, RuntimeDep
from actionmfa.api.schemas import SdkUser, WireModel
from actionmfa.services import users as user_service

router = APIRouter(tags=["users"])


@router.get("/users", response_model=SdkUser)
def get_user(ctx: PendingAuthDep) -> SdkUser:
    return SdkUser.of_ctx(ctx)


class UserFields(WireModel):
    alias: str | None = Field(default=None, max_length=200)
    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    mfaBackupCodeAcknowledgement: str | None = None


@router.put("/users", response_model=SdkUser)
def update_user(body: UserFields, ctx: AuthDep, runtime: RuntimeDep) -> SdkUser:
    fields = body.model_dump(exclude_unset=True)
    with runtime.db.write() as uow:
        user = user_service.update_self(uow, runtime, ctx, fields)
    return SdkUser.of(user, ctx.session)
