"""Passkey routes (prefix ``/api/v0/sdk/{environmentId}``; Dynamic's paths, DESIGN §5 and §8).

``GET /users/passkeys/register`` and ``GET /users/passkeys/authenticate`` return the WebAuthn L3
JSON options *flat*, with one extra member, ``ceremonyId``, that opens the hosted ceremony page.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from actionmfa.api.deps import AuthDep, CoreDep, PasskeysDep, PendingAuthDep, PresentedDep, ProofDep, ThreadsDep
from actionmfa.api.responses import FULL_SESSION, SESSION, errors
from actionmfa.api.schemas import ApprovalDigest, CreateMfaToken, ScopeName, VerifyResponse, WireModel
from actionmfa.api.views import mfa_verify_response
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.passkeys.views import passkey_json

router = APIRouter(tags=["passkeys"], responses=SESSION)


class AuthenticatorResponse(BaseModel):
    """The credential's ``response`` (WebAuthn L3 §5.2.1.1 / §5.2.2 JSON forms): ``clientDataJSON``
    (or Dynamic's ``clientDataJson``) and the ceremony's other members, checked by the verifier."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "anyOf": [{"required": ["clientDataJSON"]}, {"required": ["clientDataJson"]}]})

    clientDataJSON: str | None = Field(default=None, min_length=1)
    clientDataJson: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _client_data(self) -> AuthenticatorResponse:
        if self.clientDataJSON is None and self.clientDataJson is None:
            raise ValueError("clientDataJSON is required")
        return self


class _Credential(BaseModel):
    """A ``PublicKeyCredential`` in its JSON form plus Dynamic's MFA options."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=1400)
    rawId: str = Field(min_length=1, max_length=1400)
    type: Literal["public-key"] = "public-key"
    response: AuthenticatorResponse
    clientExtensionResults: dict[str, Any] | None = None
    authenticatorAttachment: str | None = Field(default=None, max_length=32)
    createMfaToken: CreateMfaToken | None = None
    requestedScopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=16)
    approvalDigest: ApprovalDigest | None = None

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


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CredentialDescriptor(Answer):
    """``PublicKeyCredentialDescriptorJSON`` (WebAuthn L3 §5.10.3)."""

    id: str
    type: Literal["public-key"]
    transports: list[str] | None = None


class RelyingPartyEntity(Answer):
    id: str
    name: str


class UserEntity(Answer):
    id: str
    name: str
    displayName: str


class CredentialParameters(Answer):
    type: Literal["public-key"]
    alg: int


class AuthenticatorSelection(Answer):
    residentKey: Literal["discouraged", "preferred", "required"]
    requireResidentKey: bool
    userVerification: Literal["discouraged", "preferred", "required"]


class RegistrationOptions(Answer):
    """``PublicKeyCredentialCreationOptionsJSON`` (WebAuthn L3 §5.4), flat, plus ``ceremonyId``."""

    rp: RelyingPartyEntity
    user: UserEntity
    challenge: str
    pubKeyCredParams: list[CredentialParameters]
    timeout: int
    excludeCredentials: list[CredentialDescriptor]
    authenticatorSelection: AuthenticatorSelection
    attestation: Literal["none", "indirect", "direct", "enterprise"]
    hints: list[str]
    extensions: dict[str, bool]
    ceremonyId: str


class AuthenticationOptions(Answer):
    """``PublicKeyCredentialRequestOptionsJSON`` (WebAuthn L3 §5.5), flat, plus ``ceremonyId``."""

    challenge: str
    timeout: int
    rpId: str
    allowCredentials: list[CredentialDescriptor]
    userVerification: Literal["discouraged", "preferred", "required"]
    ceremonyId: str


class UserPasskey(Answer):
    """Dynamic's ``UserPasskey`` plus the WebAuthn facts a management page shows."""

    id: str
    alias: str | None
    userAgent: str | None
    origin: str | None
    credentialId: str
    createdAt: str
    updatedAt: str
    lastUsedAt: str | None
    aaguid: str
    algorithm: int
    transports: list[str]
    backupEligible: bool
    backedUp: bool
    possiblyCloned: bool


class UserPasskeys(Answer):
    """Dynamic's ``GetUserPasskeysResponse``."""

    passkeys: list[UserPasskey]
    count: int


@router.get("/users/passkeys/register", operation_id="getPasskeyRegistrationOptions")
def get_passkey_registration_options(ctx: PendingAuthDep, passkeys: PasskeysDep) -> RegistrationOptions:
    return RegistrationOptions.model_validate(passkeys.ceremonies.registration_options(ctx))


@router.post("/users/passkeys/register", response_model=VerifyResponse, response_model_exclude_none=True,
             operation_id="registerPasskey", responses=errors(403))
def register_passkey(
    body: PasskeyRegisterRequest, proof: ProofDep, ctx: PendingAuthDep, passkeys: PasskeysDep, core: CoreDep
) -> VerifyResponse:
    return mfa_verify_response(core, passkeys.registration.register(ctx, body.credential(), body.mfa(), proof))


@router.get("/users/passkeys/authenticate", operation_id="getPasskeyAuthenticationOptions")
async def get_passkey_authentication_options(
    ctx: PendingAuthDep, passkeys: PasskeysDep, threads: ThreadsDep
) -> AuthenticationOptions:
    return AuthenticationOptions.model_validate(await threads.run(passkeys.ceremonies.authentication_options, ctx))


@router.post("/users/mfa/auth/passkey", response_model=VerifyResponse, response_model_exclude_none=True,
             operation_id="authenticateMfaPasskeyDevice", responses=errors(403, 429))
async def authenticate_mfa_passkey(
    body: PasskeyAuthRequest, caller: PresentedDep, passkeys: PasskeysDep, core: CoreDep, threads: ThreadsDep
) -> VerifyResponse:
    def run() -> VerifyResponse:  # the session is read in the challenge's transaction
        return mfa_verify_response(core, passkeys.authentication.authenticate(caller, body.credential(), body.mfa()))

    return await threads.run(run)


@router.get("/users/passkeys", operation_id="getUserPasskeys")
def get_user_passkeys(ctx: PendingAuthDep, passkeys: PasskeysDep) -> UserPasskeys:
    rows = passkeys.management.for_user(ctx)
    return UserPasskeys.model_validate({"passkeys": [passkey_json(r) for r in rows], "count": len(rows)})


@router.put("/users/passkeys", operation_id="updatePasskey", responses=FULL_SESSION)
def update_passkey(body: UpdateUserPasskeyRequest, ctx: AuthDep, passkeys: PasskeysDep) -> UserPasskey:
    return UserPasskey.model_validate(passkey_json(passkeys.management.rename(ctx, body.id, body.alias)))


@router.delete("/users/passkeys", status_code=204, operation_id="deletePasskey", responses=FULL_SESSION)
def delete_passkey(body: DeleteUserPasskeyRequest, proof: ProofDep, ctx: AuthDep, passkeys: PasskeysDep) -> Response:
    passkeys.management.delete(ctx, body.passkeyId, proof)
    return Response(status_code=204)
