"""The signed-in user (``GET``/``PUT /users``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AuthDep, MfaDep, PendingAuthDep, ProofDep
from actionmfa.api.schemas import SdkUser, WireModel

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
def update_user(body: UserFields, proof: ProofDep, ctx: AuthDep, mfa: MfaDep) -> SdkUser:
    # The user.update gate and the recovery-code acknowledgement live in the MFA core.
    user = mfa.profile.update_user(ctx, body.model_dump(exclude_unset=True), proof)
    return SdkUser.of(user, ctx.session)
