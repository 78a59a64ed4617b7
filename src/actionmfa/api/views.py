"""Responses that carry the user: Dynamic's ``SdkUser`` needs the user's credentials, read here."""

from __future__ import annotations

from actionmfa.api.schemas import SdkUser, UpdateSelfResponse, VerifyResponse
from actionmfa.domain.credentials import VerifiedCredential
from actionmfa.domain.models import AuthContext, User
from actionmfa.services.container import CoreServices
from actionmfa.services.core.sessions import IssuedSession
from actionmfa.services.mfa.completion import AuthResult


def sdk_user(
    core: CoreServices, ctx: AuthContext, user: User | None = None, credentials: list[VerifiedCredential] | None = None
) -> SdkUser:
    """The caller (or ``user``, their updated record) as ``SdkUser`` (``credentials``: read already,
    in the request's own transaction)."""
    who = user or ctx.user
    return SdkUser.of_session(who, ctx.session, core.credentials.of(who) if credentials is None else credentials)


def verify_response(core: CoreServices, issued: IssuedSession) -> VerifyResponse:
    return VerifyResponse.of(issued, core.credentials.of(issued.user))


def mfa_verify_response(core: CoreServices, result: AuthResult) -> VerifyResponse:
    """An MFA authentication's answer: the re-issued session and the tokens it minted (the user's
    credentials as the authentication's own transaction read them, when it did)."""
    credentials = result.credentials if result.credentials is not None else core.credentials.of(result.issued.user)
    return VerifyResponse.of(
        result.issued,
        credentials,
        mfa_token=result.mfa_token,
        elevated_access_token=result.elevated_token,
    )


def update_self_response(
    core: CoreServices, ctx: AuthContext, user: User, jwt: str, credentials: list[VerifiedCredential] | None = None
) -> UpdateSelfResponse:
    """``PUT /users``: the updated user with the session's JWT and expiry."""
    return UpdateSelfResponse(
        jwt=jwt,
        minifiedJwt=jwt,
        user=sdk_user(core, ctx, user, credentials),
        expiresAt=int(ctx.session.expires_at.timestamp()),
    )
