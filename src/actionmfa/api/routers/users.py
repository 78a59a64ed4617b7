"""The signed-in user (``GET``/``PUT /users``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AuthDep, BearerDep, CoreDep, MfaDep, PendingAuthDep, ProofDep, ThreadsDep
from actionmfa.api.responses import SESSION, errors
from actionmfa.api.schemas import SdkUser, UpdateSelfResponse, WireModel
from actionmfa.api.views import sdk_user, update_self_response

router = APIRouter(tags=["users"], responses=SESSION)


@router.get("/users", response_model=SdkUser, operation_id="getAuthenticatedUser")
async def get_user(ctx: PendingAuthDep, core: CoreDep, threads: ThreadsDep) -> SdkUser:
    return await threads.run(sdk_user, core, ctx)


class UserFields(WireModel):
    alias: str | None = Field(default=None, max_length=200)
    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    # Only ``complete`` can be set (the recovery codes were saved); ``pending`` is the server's to set.
    mfaBackupCodeAcknowledgement: Literal["complete"] | None = None


@router.put("/users", response_model=UpdateSelfResponse, operation_id="updateSelf", responses=errors(403, 409))
async def update_user(
    body: UserFields, proof: ProofDep, ctx: AuthDep, jwt: BearerDep, mfa: MfaDep, core: CoreDep, threads: ThreadsDep
) -> UpdateSelfResponse:
    def run() -> UpdateSelfResponse:
        # The user.update gate and the recovery-code acknowledgement live in the MFA core.
        user = mfa.profile.update_user(ctx, body.model_dump(exclude_unset=True), proof)
        return update_self_response(core, ctx, user, jwt)

    return await threads.run(run)
