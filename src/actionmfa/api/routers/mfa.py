"""MFA routes (DESIGN §5; Dynamic's paths and camelCase names, reference/dynamic-api.md §2.2).

Thin: parse → one call of an MFA-core service (``MfaDep``: totp, recovery, devices, step_up) →
respond. Routes a session still waiting for session-based MFA may reach use ``PendingAuthDep``
(enrolment and MFA auth); the rest need a full session.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from actionmfa.api.deps import AuthDep, CoreDep, MfaDep, PendingAuthDep, ProofDep, require_full_scope
from actionmfa.api.schemas import VerifyResponse, WireModel
from actionmfa.api.views import mfa_verify_response
from actionmfa.domain.actions import MFAAction
from actionmfa.qr import qr_png, qr_svg
from actionmfa.services.mfa.completion import MintRequest

router = APIRouter(tags=["mfa"])


class CreateMfaToken(WireModel):
    singleUse: bool = True


class _AuthBody(WireModel):
    code: str
    createMfaToken: CreateMfaToken | None = None
    requestedScopes: list[str] | None = Field(default=None, max_length=16)
    approvalDigest: str | None = Field(default=None, max_length=64)

    def mint(self) -> MintRequest:
        return MintRequest(
            create_mfa_token=self.createMfaToken is not None,
            single_use=self.createMfaToken.singleUse if self.createMfaToken else True,
            requested_scopes=tuple(self.requestedScopes or ()),
            approval_digest=self.approvalDigest,
        )


class TotpAuthBody(_AuthBody):
    id: str | None = Field(default=None, max_length=64)


class RecoveryAuthBody(_AuthBody):
    pass


class TotpRegisterBody(WireModel):
    type: Literal["totp"] = "totp"
    code: str


class UpdateDeviceBody(WireModel):
    default: bool = True


class IsRequiredBody(WireModel):
    mfaAction: MFAAction


@router.get("/users/mfa/register/totp")
def register_totp(proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, Any]:
    reg = mfa.totp.register_totp(ctx, proof)
    return {"id": reg.id, "type": "totp", "secret": reg.secret, "uri": reg.uri}


@router.post("/users/mfa/register/totp")
def register_totp_verify(body: TotpRegisterBody, proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, Any]:
    return mfa.totp.verify_totp_registration(ctx, body.code, proof)


@router.get("/users/mfa/register/totp/qr")
def register_totp_qr(
    ctx: PendingAuthDep,
    mfa: MfaDep,
    deviceId: Annotated[str, Query(max_length=64)],
    format: Literal["svg", "png"] = "svg",
) -> Response:
    """A QR code of the caller's pending TOTP device, rendered server-side from the stored secret:
    no third party sees the secret, and it is not in the URL (access logs record query strings)."""
    uri = mfa.totp.pending_totp_uri(ctx, deviceId)
    if format == "png":
        return Response(qr_png(uri), media_type="image/png", headers={"Cache-Control": "no-store"})
    return Response(qr_svg(uri), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post("/users/mfa/auth/totp", response_model=VerifyResponse, response_model_exclude_none=True)
def auth_totp(body: TotpAuthBody, ctx: PendingAuthDep, mfa: MfaDep, core: CoreDep) -> VerifyResponse:
    return mfa_verify_response(core, mfa.totp.authenticate_totp(ctx, body.code, device_id=body.id, mint=body.mint()))


@router.post("/users/mfa/auth/recovery", response_model=VerifyResponse, response_model_exclude_none=True)
def auth_recovery(body: RecoveryAuthBody, ctx: PendingAuthDep, mfa: MfaDep, core: CoreDep) -> VerifyResponse:
    return mfa_verify_response(core, mfa.recovery.authenticate_recovery(ctx, body.code, mint=body.mint()))


@router.get("/users/mfa/recovery")
def get_recovery_codes(ctx: AuthDep, mfa: MfaDep) -> dict[str, Any]:
    # A full session only: a session still waiting for session MFA could otherwise read a code
    # and spend it on ``POST /users/mfa/auth/recovery`` — the first factor alone passing MFA.
    codes = mfa.recovery.recovery_codes(ctx)
    return {"count": len(codes), "recoveryCodes": codes}


@router.post("/users/mfa/recovery")
def regenerate_recovery_codes(proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, Any]:
    require_full_scope(ctx)
    codes = mfa.recovery.regenerate_recovery_codes(ctx, proof)
    return {"count": len(codes), "recoveryCodes": codes}


@router.get("/users/mfa")
def list_devices(ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, Any]:
    devices = mfa.devices.list_devices(ctx)
    return {"count": len(devices), "devices": devices}


@router.get("/users/mfa/methods")
def list_methods(ctx: PendingAuthDep, mfa: MfaDep, verifiedOnly: bool = False) -> dict[str, Any]:
    return mfa.devices.methods(ctx, verified_only=verifiedOnly)


@router.get("/users/mfa/{mfaDeviceId}")
def get_device(mfaDeviceId: str, ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, Any]:
    return mfa.devices.get_device(ctx, mfaDeviceId)


@router.put("/users/mfa/{mfaDeviceId}", status_code=204)
def set_default_device(
    mfaDeviceId: str, ctx: PendingAuthDep, mfa: MfaDep, body: UpdateDeviceBody | None = None
) -> Response:
    require_full_scope(ctx)
    mfa.devices.set_default(ctx, mfaDeviceId)
    return Response(status_code=204)


@router.delete("/users/mfa/{mfaDeviceId}", status_code=204)
def delete_device(mfaDeviceId: str, proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> Response:
    require_full_scope(ctx)
    mfa.devices.delete_device(ctx, mfaDeviceId, proof)
    return Response(status_code=204)


@router.post("/mfa/isRequiredForAction")
def is_required_for_action(body: IsRequiredBody, ctx: PendingAuthDep, mfa: MfaDep) -> dict[str, bool]:
    return {"required": mfa.step_up.is_required_for_action(ctx, body.mfaAction)}
