"""Wire models shared by several routers (camelCase names, as Dynamic's SDK API)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actionmfa.domain.credentials import VerifiedCredential, WalletProperties, sign_in_credential_id
from actionmfa.domain.models import Session, User
from actionmfa.domain.tokens import KNOWN_SCOPES
from actionmfa.services.core.sessions import IssuedSession


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A scope an elevated token can carry. The document lists the known ones; the use case checks them
# (``invalid_scopes``, the code Dynamic's clients expect), so the type stays a string here.
ScopeName = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"enum": sorted(KNOWN_SCOPES)})]
# DESIGN §6 approvalDigest: the hex SHA-256 of the request a token is bound to.
ApprovalDigest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class CreateMfaToken(WireModel):
    """Dynamic's ``CreateMfaToken``: ask for an MFA token beside the MFA session."""

    singleUse: bool = True


class WaasWalletSettings(BaseModel):
    """Dynamic's deferred wallet work (``WaasWalletProperties.settings``): what the user's next
    sign-in must run. ActionMFA sets the two delegation fields from the operator's decision."""

    reshareOnNextSignOn: Literal["TWO_OF_THREE"] | None = None
    revokeOnNextSignOn: bool = False
    shouldRefreshOnNextSignOn: bool = False


class WalletPropertiesModel(BaseModel):
    """A ``blockchain`` credential's ``walletProperties`` (see :mod:`actionmfa.domain.credentials`)."""

    model_config = ConfigDict(title="WalletProperties")

    thresholdSignatureScheme: Literal["TWO_OF_TWO", "TWO_OF_THREE"]
    pendingAction: Literal["approve_delegation", "revoke_delegation"] | None = None
    pregenerated: bool = Field(default=False, description="made by the operator, not claimed yet (issue 13.1)")
    settings: WaasWalletSettings

    @classmethod
    def of(cls, p: WalletProperties) -> WalletPropertiesModel:
        return cls(
            thresholdSignatureScheme=p.threshold_scheme,  # type: ignore[arg-type]
            pendingAction=p.pending_action,  # type: ignore[arg-type]
            pregenerated=p.pregenerated,
            settings=WaasWalletSettings(reshareOnNextSignOn=p.reshare_on_next_sign_on,  # type: ignore[arg-type]
                                        revokeOnNextSignOn=p.revoke_on_next_sign_on,
                                        shouldRefreshOnNextSignOn=p.pregenerated),
        )


class VerifiedCredentialModel(BaseModel):
    """Dynamic's ``JwtVerifiedCredential`` (see :mod:`actionmfa.domain.credentials`). Four of its
    wire names are snake_case in Dynamic's API (``public_identifier``, ``wallet_name``,
    ``wallet_provider``, ``embedded_wallet_id``): kept so, since Dynamic's deserializer reads them so."""

    model_config = ConfigDict(title="JwtVerifiedCredential")

    id: str
    format: Literal["email", "externalUser", "totp", "passkey", "blockchain"]
    signInEnabled: bool
    email: str | None = None
    publicIdentifier: str | None = Field(default=None, serialization_alias="public_identifier")
    address: str | None = None
    chain: str | None = None
    walletName: str | None = Field(default=None, serialization_alias="wallet_name")
    walletProvider: Literal["embeddedWallet"] | None = Field(default=None, serialization_alias="wallet_provider")
    embeddedWalletId: str | None = Field(default=None, serialization_alias="embedded_wallet_id")
    verifiedAt: str | None = None
    walletProperties: WalletPropertiesModel | None = None

    @classmethod
    def of(cls, c: VerifiedCredential) -> VerifiedCredentialModel:
        return cls(
            id=c.id,
            format=c.format.value,  # type: ignore[arg-type]
            signInEnabled=c.sign_in_enabled,
            email=c.email,
            publicIdentifier=c.public_identifier,
            address=c.address,
            chain=c.chain,
            walletName=c.wallet_name,
            walletProvider=c.wallet_provider,  # type: ignore[arg-type]
            embeddedWalletId=c.embedded_wallet_id,
            verifiedAt=c.verified_at.isoformat() if c.verified_at else None,
            walletProperties=WalletPropertiesModel.of(c.wallet_properties) if c.wallet_properties else None,
        )


class UserRecord(BaseModel):
    """A user as the operator API lists it."""

    id: str
    environmentId: str
    email: str | None = None
    alias: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    metadata: dict[str, Any] | None = None
    mfaBackupCodeAcknowledgement: Literal["pending", "complete"] | None = None
    externalUserId: str | None = None
    createdAt: str

    @classmethod
    def of(cls, user: User) -> UserRecord:
        return cls(
            id=user.id,
            environmentId=user.environment_id,
            email=user.email,
            alias=user.alias,
            firstName=user.first_name,
            lastName=user.last_name,
            metadata=user.metadata,
            mfaBackupCodeAcknowledgement=user.mfa_backup_code_ack,  # type: ignore[arg-type]
            externalUserId=user.external_id,
            createdAt=user.created_at.isoformat(),
        )


class SdkUser(UserRecord):
    """Dynamic's ``SdkUser``: the signed-in user with its credentials, environment and session.

    ``environmentId`` (ActionMFA's older name) stays beside Dynamic's ``projectEnvironmentId``."""

    projectEnvironmentId: str
    verifiedCredentials: list[VerifiedCredentialModel]
    lastVerifiedCredentialId: str | None = None
    scope: str | None = None
    sessionId: str | None = None

    @classmethod
    def of_session(cls, user: User, session: Session, credentials: list[VerifiedCredential]) -> SdkUser:
        record = UserRecord.of(user).model_dump()
        return cls(
            **record,
            projectEnvironmentId=user.environment_id,
            verifiedCredentials=[VerifiedCredentialModel.of(c) for c in credentials],
            lastVerifiedCredentialId=sign_in_credential_id(user),
            scope=session.scope.value,
            sessionId=session.id,
        )


class VerifyResponse(BaseModel):
    """Dynamic's ``VerifyResponse``. ``minifiedJwt`` is the session JWT too: it carries no
    credentials, so there is nothing to minify (Dynamic's JS SDK sends it as the bearer)."""

    jwt: str
    minifiedJwt: str
    user: SdkUser
    expiresAt: int
    mfaToken: str | None = None
    elevatedAccessToken: str | None = None

    @classmethod
    def of(
        cls,
        issued: IssuedSession,
        credentials: list[VerifiedCredential],
        *,
        mfa_token: str | None = None,
        elevated_access_token: str | None = None,
    ) -> VerifyResponse:
        return cls(
            jwt=issued.jwt,
            minifiedJwt=issued.jwt,
            user=SdkUser.of_session(issued.user, issued.session, credentials),
            expiresAt=issued.expires_at,
            mfaToken=mfa_token,
            elevatedAccessToken=elevated_access_token,
        )


class UpdateSelfResponse(VerifyResponse):
    """Dynamic's ``UpdateSelfResponse`` (``PUT /users``): the updated user, the session's JWT
    (Dynamic's JS SDK replaces its session with it) and ``nextView`` ``done`` (no email or SMS
    verification ever follows a profile change here)."""

    nextView: Literal["done"] = "done"


class ErrorBody(BaseModel):
    """Every failure: a human message, a stable ``code`` (``errors.py``), the field at fault when
    there is one, and details for some codes (``passkey_invalid``: ``{"reason"}``)."""

    model_config = ConfigDict(extra="forbid")

    error: str
    code: str
    field: str | None = None
    payload: dict[str, Any] | None = None
