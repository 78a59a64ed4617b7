"""Sign-in and session lifecycle routes (prefix ``/api/v0/sdk/{environmentId}``).

Email one-time code (``emailVerifications/create`` → ``emailVerifications/signin``), the developer's
own JWT (``externalAuth/signin``), ``refresh`` and ``logout``. Sign-in answers a ``VerifyResponse``
whose ``user.scope`` is ``requiresAdditionalAuth`` while session-based MFA is pending.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from actionmfa.api.deps import MetaDep, PendingAuthDep, RuntimeDep
from actionmfa.api.schemas import VerifyResponse, WireModel
from actionmfa.services.signin import email as email_signin
from actionmfa.services.signin import external as external_auth

router = APIRouter(tags=["auth"])


class EmailVerificationCreate(WireModel):
    email: str = Field(min_length=3, max_length=320)


class EmailVerificationCreated(WireModel):
    verificationUUID: str


class EmailVerificationSignIn(WireModel):
    verificationUUID: str = Field(min_length=1, max_length=64)
    verificationToken: str = Field(min_length=1, max_length=32)


class ExternalAuthSignIn(WireModel):
    jwt: str = Field(min_length=1, max_length=external_auth.MAX_JWT_BYTES)


@router.post("/emailVerifications/create", response_model=EmailVerificationCreated, status_code=201)
def create_email_verification(
    environmentId: str, body: EmailVerificationCreate, runtime: RuntimeDep
) -> EmailVerificationCreated:
    sent = email_signin.create(runtime, environmentId, body.email)
    return EmailVerificationCreated(verificationUUID=sent.verification_id)


@router.post("/emailVerifications/signin", response_model=VerifyResponse)
def email_sign_in(
    environmentId: str, body: EmailVerificationSignIn, runtime: RuntimeDep, meta: MetaDep
) -> VerifyResponse:
    issued = email_signin.sign_in(runtime, environmentId, body.verificationUUID, body.verificationToken, meta)
    return VerifyResponse.of(issued)


@router.post("/externalAuth/signin", response_model=VerifyResponse)
def external_sign_in(
    environmentId: str, body: ExternalAuthSignIn, runtime: RuntimeDep, meta: MetaDep
) -> VerifyResponse:
    return VerifyResponse.of(external_auth.sign_in(runtime, environmentId, body.jwt, meta))


@router.post("/refresh", response_model=VerifyResponse)
def refresh(ctx: PendingAuthDep, runtime: RuntimeDep) -> VerifyResponse:
    with runtime.db.write() as uow:
        issued = runtime.sessions.refresh(uow, ctx)
    return VerifyResponse.of(issued)


@router.post("/logout", status_code=204)
def logout(ctx: PendingAuthDep, runtime: RuntimeDep) -> Response:
    with runtime.db.write() as uow:
        runtime.sessions.logout(uow, ctx)
    return Response(status_code=204)
