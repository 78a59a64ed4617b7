"""Sign-in and session lifecycle routes (prefix ``/api/v0/sdk/{environmentId}``).

Email one-time code (``emailVerifications/create`` → ``emailVerifications/signin``), the developer's
own JWT (``externalAuth/signin``), ``refresh`` and ``logout``. Sign-in answers a ``VerifyResponse``
whose ``user.scope`` is ``requiresAdditionalAuth`` while session-based MFA is pending.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from actionmfa.api.deps import CoreDep, MetaDep, PendingAuthDep, SignInDep
from actionmfa.api.responses import SDK, SESSION, errors
from actionmfa.api.schemas import VerifyResponse, WireModel
from actionmfa.api.views import verify_response
from actionmfa.services.signin.external import MAX_JWT_BYTES

router = APIRouter(tags=["auth"], responses=SDK)


class EmailVerificationCreate(WireModel):
    # The server's own rule (signin/email.py): one "@", no spaces, a dot in the domain.
    email: str = Field(min_length=3, max_length=320, pattern=r"^\s*[^@\s]{1,64}@[^@\s]+\.[^@\s]+\s*$")


class EmailVerificationCreated(WireModel):
    verificationUUID: str
    email: str  # Dynamic's EmailVerificationCreateResponse echoes the address


class EmailVerificationSignIn(WireModel):
    verificationUUID: str = Field(min_length=1, max_length=64)
    verificationToken: str = Field(min_length=1, max_length=32)


class ExternalAuthSignIn(WireModel):
    jwt: str = Field(min_length=1, max_length=MAX_JWT_BYTES)


@router.post("/emailVerifications/create", response_model=EmailVerificationCreated, status_code=201,
             operation_id="createEmailVerification", responses=errors(429, 503))
def create_email_verification(
    environmentId: str, body: EmailVerificationCreate, signin: SignInDep, meta: MetaDep
) -> EmailVerificationCreated:
    sent = signin.email.create(environmentId, body.email, meta)
    return EmailVerificationCreated(verificationUUID=sent.verification_id, email=body.email)


@router.post("/emailVerifications/signin", response_model=VerifyResponse, operation_id="signInWithEmailVerification",
             responses=errors(410, 429))
def email_sign_in(
    environmentId: str, body: EmailVerificationSignIn, signin: SignInDep, core: CoreDep, meta: MetaDep
) -> VerifyResponse:
    issued = signin.email.sign_in(environmentId, body.verificationUUID, body.verificationToken, meta)
    return verify_response(core, issued)


@router.post("/externalAuth/signin", response_model=VerifyResponse, operation_id="externalAuthSignin",
             responses=errors(401, 429, 503))
def external_sign_in(
    environmentId: str, body: ExternalAuthSignIn, signin: SignInDep, core: CoreDep, meta: MetaDep
) -> VerifyResponse:
    return verify_response(core, signin.external.sign_in(environmentId, body.jwt, meta))


@router.post("/refresh", response_model=VerifyResponse, operation_id="refreshAuth", responses=SESSION)
def refresh(ctx: PendingAuthDep, signin: SignInDep, core: CoreDep) -> VerifyResponse:
    return verify_response(core, signin.sessions.refresh(ctx))


@router.post("/logout", status_code=204, operation_id="logout", responses=SESSION)
def logout(ctx: PendingAuthDep, signin: SignInDep) -> Response:
    signin.sessions.logout(ctx)
    return Response(status_code=204)


@router.post("/revoke", status_code=204, operation_id="revokeSession", responses=SESSION)
def revoke(ctx: PendingAuthDep, signin: SignInDep) -> Response:
    """Dynamic's sign-out (``revokeSession``): ends the session exactly as ``/logout`` does."""
    signin.sessions.logout(ctx)
    return Response(status_code=204)
