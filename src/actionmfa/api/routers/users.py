"""The signed-in user (``GET``/``PUT /users``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import BearerDep, CoreDep, MfaDep, PresentedDep, ProofDep, ThreadsDep
from actionmfa.api.responses import SESSION, errors
from actionmfa.api.schemas import SdkUser, UpdateSelfResponse, WireModel
from actionmfa.api.views import sdk_user, update_self_response

router = APIRouter(tags=["users"], responses=SESSION)


@router.get("/users", response_model=SdkUser, operation_id="getAuthenticatedUser")
async def get_user(caller: PresentedDep, core: CoreDep, threads: ThreadsDep) -> SdkUser:
    ctx, credentials = await threads.run(core.access.with_credentials, caller)  # one read transaction
    return sdk_user(core, ctx, credentials=credentials)


class UserFields(WireModel):
    alias: str | None = Field(default=None, max_length=200)
    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    # Only ``complete`` can be set (the recovery codes were saved); ``pending`` is the server's to set.
    mfaBackupCodeAcknowledgement: Literal["complete"] | None = None


@router.put("/users", response_model=UpdateSelfResponse, operation_id="updateSelf", responses=errors(403, 409))
async def update_user(
    body: UserFields,
    proof: ProofDep,
    caller: PresentedDep,
    jwt: BearerDep,
    mfa: MfaDep,
    core: CoreDep,
    threads: ThreadsDep,
) -> UpdateSelfResponse:
    def run() -> UpdateSelfResponse:
        # The session (a full one), the user.update gate and the recovery-code acknowledgement live
        # in the MFA core, in one write transaction with the credentials the answer lists.
        done = mfa.profile.update_caller(caller, body.model_dump(exclude_unset=True), proof)
        return update_self_response(core, done.ctx, done.user, jwt, done.credentials)

    return await threads.run(run)
