"""``POST /approvals``: describe a pending gated wallet action for the MFA prompt (issue 12).

Thin: parse → :meth:`~actionmfa.services.mfa.approvals.Approvals.create` → respond. The answer
holds the description the prompt shows, its ``approvalDigest`` and ``approvalId`` (a sealed
ticket the hosted prompt page opens); an MFA authentication sent with that ``approvalDigest`` mints
a token the gate accepts for this payload only.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AuthDep, MfaDep
from actionmfa.api.responses import FULL_SESSION
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import SignKind

router = APIRouter(tags=["mfa"], responses=FULL_SESSION)


class ApprovalBody(WireModel):
    action: Literal["wallet.waas.sign", "wallet.waas.export"]
    kind: SignKind | None = Field(
        default=None, description="signMessage's kind (solTransaction/solMessage for Solana); required to sign"
    )
    payload: Any = Field(default=None, description="signMessage's payload (for wallet.waas.sign)")
    walletId: str | None = Field(default=None, max_length=64,
                                 description="the wallet that will sign (required for wallet.waas.sign)")
    abi: list[dict[str, Any]] | None = Field(
        default=None, max_length=256, description="the called contract's ABI, to decode the call"
    )


class ApprovalDetail(WireModel):
    label: str
    value: str


class ApprovalResponse(WireModel):
    approvalId: str = Field(description="sealed ticket for the hosted prompt page (?approval=)")
    expiresAt: int
    action: str
    title: str
    details: list[ApprovalDetail]
    warning: str | None = None
    approvalDigest: str | None = Field(default=None, description="bind the MFA token to this payload with it")


@router.post(
    "/approvals",
    response_model=ApprovalResponse,
    operation_id="createApproval",
)
def create_approval(body: ApprovalBody, ctx: AuthDep, mfa: MfaDep) -> ApprovalResponse:
    approval = mfa.approvals.create(
        ctx, action=body.action, kind=body.kind, payload=body.payload, abi=body.abi, wallet_id=body.walletId
    )
    return ApprovalResponse(approvalId=approval.ticket, expiresAt=approval.expires_at, **approval.view.to_json())
