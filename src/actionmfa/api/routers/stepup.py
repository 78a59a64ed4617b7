"""Step-up check (reference/dynamic-api.md §2.4). Elevated tokens are minted by ``…/users/mfa/auth/*``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from actionmfa.api.deps import AuthDep, MfaDep
from actionmfa.api.responses import FULL_SESSION
from actionmfa.api.schemas import ScopeName, WireModel

router = APIRouter(tags=["step-up"], responses=FULL_SESSION)


class StepUpCheckBody(WireModel):
    scope: ScopeName


class StepUpCredential(BaseModel):
    """Dynamic's ``StepUpCredential``: a verified method the user can step up with."""

    model_config = ConfigDict(extra="forbid")

    id: str
    format: Literal["totp", "passkey"]
    type: Literal["totp", "passkey"]
    alias: str | None


class StepUpCheckResponse(BaseModel):
    """Dynamic's ``StepUpCheckResponse``."""

    model_config = ConfigDict(extra="forbid")

    isRequired: bool
    credentials: list[StepUpCredential]
    defaultCredentialId: str | None


@router.post("/stepUp/check", operation_id="stepUpCheck")
def step_up_check(body: StepUpCheckBody, ctx: AuthDep, mfa: MfaDep) -> StepUpCheckResponse:
    return StepUpCheckResponse.model_validate(mfa.step_up.step_up_check(ctx, body.scope))
