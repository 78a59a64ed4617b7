"""MFA routes (DESIGN §5; Dynamic's paths and camelCase names, reference/dynamic-api.md §2.2).

Thin: parse → one call of an MFA-core service (``MfaDep``: totp, recovery, devices, step_up) →
respond. Routes a session still waiting for session-based MFA may reach use ``PendingAuthDep``
(enrolment and MFA auth); the rest need a full session.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from actionmfa.api.deps import (
    AuthDep,
    CoreDep,
    MfaDep,
    PendingAuthDep,
    PresentedDep,
    ProofDep,
    ThreadsDep,
    require_full_scope,
)
from actionmfa.api.responses import FULL_SESSION, SESSION, errors, links
from actionmfa.api.schemas import ApprovalDigest, CreateMfaToken, ScopeName, VerifyResponse, WireModel
from actionmfa.api.views import mfa_verify_response
from actionmfa.domain.actions import MFAAction, MFADeviceType
from actionmfa.qr import qr_png, qr_svg
from actionmfa.services.mfa.completion import MintRequest

router = APIRouter(tags=["mfa"], responses=SESSION)

# A one-time code as people type it: six to eight digits for TOTP, a recovery code with or without
# its dashes; whitespace is tolerated (authenticator apps group digits). Longer is never a code.
Code = Annotated[str, Field(min_length=1, max_length=64)]
DeviceId = Annotated[str, Field(max_length=64)]


class _AuthBody(WireModel):
    code: Code
    createMfaToken: CreateMfaToken | None = None
    requestedScopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=16)
    approvalDigest: ApprovalDigest | None = None

    def mint(self) -> MintRequest:
        return MintRequest(
            create_mfa_token=self.createMfaToken is not None,
            single_use=self.createMfaToken.singleUse if self.createMfaToken else True,
            requested_scopes=tuple(self.requestedScopes or ()),
            approval_digest=self.approvalDigest,
        )


class TotpAuthBody(_AuthBody):
    id: DeviceId | None = None


class RecoveryAuthBody(_AuthBody):
    pass


class TotpRegisterBody(WireModel):
    type: Literal["totp"] = "totp"
    code: Code


class UpdateDeviceBody(WireModel):
    default: bool = True


class IsRequiredBody(WireModel):
    mfaAction: MFAAction


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TotpRegistration(Answer):
    """Dynamic's ``MFARegisterTotpDeviceGetResponse``: the pending device and its secret (shown once)."""

    id: str
    type: Literal["totp"]
    secret: str
    uri: str


class MfaDevice(Answer):
    """Dynamic's ``MFADevice`` (never the secret)."""

    id: str
    type: MFADeviceType
    verified: bool
    createdAt: str
    verifiedAt: str | None
    default: bool
    alias: str | None


class MfaDevices(Answer):
    count: int
    devices: list[MfaDevice]


class MfaPasskey(Answer):
    """A passkey as ``GET /users/mfa/methods`` lists it (``GET /users/passkeys`` shows more)."""

    id: str
    alias: str | None
    userAgent: str | None
    origin: str | None
    credentialId: str
    createdAt: str
    updatedAt: str


class MfaMethods(Answer):
    """Dynamic's ``MFAMethodsResponse``."""

    devices: list[MfaDevice]
    passkeys: list[MfaPasskey]
    userHasVerifiedMfaMethods: bool


class RecoveryCodes(Answer):
    """Dynamic's ``MFAGetRecoveryCodesResponse`` / ``MFARegenRecoveryCodesResponse``."""

    count: int
    recoveryCodes: list[str]


class RequiredForAction(Answer):
    required: bool


@router.get("/users/mfa/register/totp", operation_id="registerTotpMfaDevice", responses=errors(403, 409),
            openapi_extra=links(200, getTotpQrCode={"deviceId": "$response.body#/id"},
                                getMfaDevice={"mfaDeviceId": "$response.body#/id"}))
def register_totp(proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> TotpRegistration:
    reg = mfa.totp.register_totp(ctx, proof)
    return TotpRegistration(id=reg.id, type="totp", secret=reg.secret, uri=reg.uri)


@router.post("/users/mfa/register/totp", operation_id="registerTotpMfaDeviceVerify", responses=errors(403, 429))
def register_totp_verify(body: TotpRegisterBody, proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> MfaDevice:
    return MfaDevice.model_validate(mfa.totp.verify_totp_registration(ctx, body.code, proof))


@router.get(
    "/users/mfa/register/totp/qr",
    operation_id="getTotpQrCode",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}},
                                 "image/png": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "The QR code of the pending device's otpauth URI"}},
)
def register_totp_qr(
    ctx: PendingAuthDep,
    mfa: MfaDep,
    deviceId: Annotated[str, Query(min_length=1, max_length=64)],
    format: Literal["svg", "png"] = "svg",
) -> Response:
    """A QR code of the caller's pending TOTP device, rendered server-side from the stored secret:
    no third party sees the secret, and it is not in the URL (access logs record query strings)."""
    uri = mfa.totp.pending_totp_uri(ctx, deviceId)
    if format == "png":
        return Response(qr_png(uri), media_type="image/png", headers={"Cache-Control": "no-store"})
    return Response(qr_svg(uri), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post("/users/mfa/auth/totp", response_model=VerifyResponse, response_model_exclude_none=True,
             operation_id="authMfaTotpDevice", responses=errors(403, 429))
async def auth_totp(
    body: TotpAuthBody, caller: PresentedDep, mfa: MfaDep, core: CoreDep, threads: ThreadsDep
) -> VerifyResponse:
    def run() -> VerifyResponse:  # the session is read in the authentication's transaction
        result = mfa.totp.authenticate_totp(caller, body.code, device_id=body.id, mint=body.mint())
        return mfa_verify_response(core, result)

    return await threads.run(run)


@router.post("/users/mfa/auth/recovery", response_model=VerifyResponse, response_model_exclude_none=True,
             operation_id="authMfaRecovery", responses=errors(403, 429))
async def auth_recovery(
    body: RecoveryAuthBody, caller: PresentedDep, mfa: MfaDep, core: CoreDep, threads: ThreadsDep
) -> VerifyResponse:
    def run() -> VerifyResponse:  # the session is read in the authentication's transaction
        return mfa_verify_response(core, mfa.recovery.authenticate_recovery(caller, body.code, mint=body.mint()))

    return await threads.run(run)


@router.get("/users/mfa/recovery", operation_id="getRecoveryCodes", responses=FULL_SESSION | errors(409))
def get_recovery_codes(ctx: AuthDep, mfa: MfaDep) -> RecoveryCodes:
    # A full session only: a session still waiting for session MFA could otherwise read a code
    # and spend it on ``POST /users/mfa/auth/recovery`` — the first factor alone passing MFA.
    codes = mfa.recovery.recovery_codes(ctx)
    return RecoveryCodes(count=len(codes), recoveryCodes=codes)


@router.post("/users/mfa/recovery", operation_id="createNewRecoveryCodes", responses=FULL_SESSION)
def regenerate_recovery_codes(proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> RecoveryCodes:
    require_full_scope(ctx)
    codes = mfa.recovery.regenerate_recovery_codes(ctx, proof)
    return RecoveryCodes(count=len(codes), recoveryCodes=codes)


@router.get("/users/mfa", operation_id="getUserMfaDevices",
            openapi_extra=links(200, getMfaDevice={"mfaDeviceId": "$response.body#/devices/0/id"},
                                updateUserMfaDevice={"mfaDeviceId": "$response.body#/devices/0/id"}))
def list_devices(ctx: PendingAuthDep, mfa: MfaDep) -> MfaDevices:
    devices = mfa.devices.list_devices(ctx)
    return MfaDevices.model_validate({"count": len(devices), "devices": devices})


@router.get("/users/mfa/methods", operation_id="getUserMfaMethods")
def list_methods(ctx: PendingAuthDep, mfa: MfaDep, verifiedOnly: bool = False) -> MfaMethods:
    return MfaMethods.model_validate(mfa.devices.methods(ctx, verified_only=verifiedOnly))


@router.get("/users/mfa/{mfaDeviceId}", operation_id="getMfaDevice")
def get_device(mfaDeviceId: str, ctx: PendingAuthDep, mfa: MfaDep) -> MfaDevice:
    return MfaDevice.model_validate(mfa.devices.get_device(ctx, mfaDeviceId))


@router.put("/users/mfa/{mfaDeviceId}", status_code=204, operation_id="updateUserMfaDevice", responses=FULL_SESSION)
def set_default_device(
    mfaDeviceId: str, ctx: PendingAuthDep, mfa: MfaDep, body: UpdateDeviceBody | None = None
) -> Response:
    require_full_scope(ctx)
    mfa.devices.set_default(ctx, mfaDeviceId)
    return Response(status_code=204)


@router.delete("/users/mfa/{mfaDeviceId}", status_code=204, operation_id="deleteMfaDevice", responses=FULL_SESSION)
def delete_device(mfaDeviceId: str, proof: ProofDep, ctx: PendingAuthDep, mfa: MfaDep) -> Response:
    require_full_scope(ctx)
    mfa.devices.delete_device(ctx, mfaDeviceId, proof)
    return Response(status_code=204)


@router.post("/mfa/isRequiredForAction", operation_id="isMfaRequiredForAction")
def is_required_for_action(body: IsRequiredBody, ctx: PendingAuthDep, mfa: MfaDep) -> RequiredForAction:
    return RequiredForAction(required=mfa.step_up.is_required_for_action(ctx, body.mfaAction))
