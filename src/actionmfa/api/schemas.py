"""Wire models shared by several routers (camelCase names, as Dynamic's SDK API)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from actionmfa.domain.models import AuthContext, Session, User
from actionmfa.services.core.sessions import IssuedSession


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SdkUser(BaseModel):
    id: str
    environmentId: str
    email: str | None = None
    alias: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    metadata: dict[str, Any] | None = None
    scope: str | None = None
    sessionId: str | None = None
    mfaBackupCodeAcknowledgement: str | None = None
    externalUserId: str | None = None
    createdAt: str

    @classmethod
    def of(cls, user: User, session: Session | None = None) -> SdkUser:
        return cls(
            id=user.id,
            environmentId=user.environment_id,
            email=user.email,
            alias=user.alias,
            firstName=user.first_name,
            lastName=user.last_name,
            metadata=user.metadata,
            scope=session.scope.value if session else None,
            sessionId=session.id if session else None,
            mfaBackupCodeAcknowledgement=user.mfa_backup_code_ack,
            externalUserId=user.external_id,
            createdAt=user.created_at.isoformat(),
        )

    @classmethod
    def of_ctx(cls, ctx: AuthContext) -> SdkUser:
        return cls.of(ctx.user, ctx.session)


class VerifyResponse(BaseModel):
    jwt: str
    user: SdkUser
    expiresAt: int
    mfaToken: str | None = None
    elevatedAccessToken: str | None = None

    @classmethod
    def of(
        cls, issued: IssuedSession, *, mfa_token: str | None = None, elevated_access_token: str | None = None
    ) -> VerifyResponse:
        return cls(
            jwt=issued.jwt,
            user=SdkUser.of(issued.user, issued.session),
            expiresAt=issued.expires_at,
            mfaToken=mfa_token,
            elevatedAccessToken=elevated_access_token,
        )


class ErrorBody(BaseModel):
    error: str
    code: str
    field: str | None = None
