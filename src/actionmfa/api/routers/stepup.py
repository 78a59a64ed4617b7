"""Step-up check (reference/dynamic-api.md §2.4). Elevated tokens are minted by ``…/users/mfa/auth/*``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AuthDep, MfaDep
from actionmfa.api.schemas import WireModel

router = APIRouter(tags=["step-up"])


class StepUpCheckBody(WireModel):
    scope: str = Field(max_length=100)


@router.post("/stepUp/check")
def step_up_check(body: StepUpCheckBody, ctx: AuthDep, mfa: MfaDep) -> dict[str, Any]:
    return mfa.step_up.step_up_check(ctx, body.scope)
