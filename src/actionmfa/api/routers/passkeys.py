"""Passkey routes (prefix ``/api/v0/sdk/{environmentId}``; Dynamic's paths, DESIGN §5 and §8).

``GET /users/passkeys/register`` and ``GET /users/passkeys/authenticate`` return the WebAuthn L3
JSON options *flat*, with one extra member, ``ceremonyId``, that opens the hosted ceremony page.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from actionmfa.api.deps import AuthDep, CoreDep, PasskeysDep, PendingAuthDep, ProofDep
from actionmfa.api.schemas import VerifyResponse, WireModel
from actionmfa.api.views import mfa_verify_response
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.passkeys.views import passkey_json

router = APIRouter(tags=["passkeys"])


class CreateMfaToken(WireModel):
    singleUse: bool = True


class _Credential(BaseModel):
    """A ``PublicKeyCredential`` in its JSON form plus Dynamic's MFA options."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=1400)
    rawId: str = Field(min_length=1, max_length=1400)
    type: Literal["public-key"] = "public-key"
    response: dict[str, Any]
    clientExtensionResults: dict[str, Any] | None = None
    authenticatorAttachment: str | None = Field(default=None, max_length=32)
    createMfaToken: CreateMfaToken | None = None
    requestedScopes: list[str] | None = Field(default=None, max_length=16)
    approvalDigest: str | None = Field(default=None, max_length=64)

    def credential(self) -> dict[str, Any]:
        return self.model_dump(exclude={"createMfaToken", "requestedScopes", "approvalDigest"}, exclude_none=True)

    def mfa(self) -> MintRequest:
        return MintRequest(
            create_mfa_token=self.createMfaToken is not None,
            single_use=self.createMfaToken.singleUse if self.createMfaToken else True,
            requested_scopes=tuple(self.requestedScopes or ()),
            approval_digest=self.approvalDigest,
        )


class PasskeyRegisterRequest(_Credential):
    pass


class PasskeyAuthRequest(_Credential):
    pass


class UpdateUserPasskeyRequest(WireModel):
    id: str = Field(max_length=36)
    alias: str | None = Field(default=None, max_length=200)


class DeleteUserPasskeyRequest(WireModel):
    passkeyId: str = Field(max_length=36)


@router.get("/users/passkeys/register")
def get_passkey_registration_options(ctx: PendingAuthDep, passkeys: PasskeysDep) -> dict[str, Any]:
    return passkeys.ceremonies.registration_options(ctx)


@router.post("/users/passkeys/register", response_model=VerifyResponse, response_model_exclude_none=True)
def register_passkey(
    body: PasskeyRegisterRequest, proof: ProofDep, ctx: PendingAuthDep, passkeys: PasskeysDep, core: CoreDep
) -> VerifyResponse:
    return mfa_verify_response(core, passkeys.registration.register(ctx, body.credential(), body.mfa(), proof))


@router.get("/users/passkeys/authenticate")
def get_passkey_authentication_options(ctx: PendingAuthDep, passkeys: PasskeysDep) -> dict[str, Any]:
    return passkeys.ceremonies.authentication_options(ctx)


@router.post("/users/mfa/auth/passkey", response_model=VerifyResponse, response_model_exclude_none=True)
def authenticate_mfa_passkey(
    body: PasskeyAuthRequest, ctx: PendingAuthDep, passkeys: PasskeysDep, core: CoreDep
) -> VerifyResponse:
    return mfa_verify_response(core, passkeys.authentication.authenticate(ctx, body.credential(), body.mfa()))


@router.get("/users/passkeys")
def get_user_passkeys(ctx: PendingAuthDep, passkeys: PasskeysDep) -> dict[str, Any]:
    rows = passkeys.management.for_user(ctx)
    return {"passkeys": [passkey_json(r) for r in rows], "count": len(rows)}


@router.put("/users/passkeys")
def update_passkey(body: UpdateUserPasskeyRequest, ctx: AuthDep, passkeys: PasskeysDep) -> dict[str, Any]:
    return passkey_json(passkeys.management.rename(ctx, body.id, body.alias))


@router.delete("/users/passkeys", status_code=204)
def delete_passkey(body: DeleteUserPasskeyRequest, proof: ProofDep, ctx: AuthDep, passkeys: PasskeysDep) -> Response:
    passkeys.management.delete(ctx, body.passkeyId, proof)
    return Response(status_code=204)
