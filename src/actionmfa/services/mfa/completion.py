"""What every successful MFA authentication ends with, whatever the factor (TOTP, recovery code,
passkey): the session is kept (same ``sid``) and set to ``user:basic`` in the database, the
session JWT is re-issued, and what the request asked for is minted — an MFA token
(``createMfaToken``) and/or an elevated access token (``requestedScopes``).

Also the step every newly verified method takes (:meth:`Completion.method_verified`): TOTP
enrolment and passkey registration both call it in their transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFADeviceType, SessionScope
from actionmfa.domain.credentials import VerifiedCredential
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import validate_requested_scopes
from actionmfa.errors import InvalidRequestError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.credentials import Credentials
from actionmfa.services.core.sessions import IssuedSession, SessionService, SessionToSign
from actionmfa.services.core.tokens import TokenService
from actionmfa.services.mfa.codeset import new_recovery_codes
from actionmfa.services.mfa.ports import MfaUnit


@dataclass(frozen=True, slots=True)
class MintRequest:
    """What a successful MFA authentication should mint (from the request body)."""

    create_mfa_token: bool = False
    single_use: bool = True
    requested_scopes: tuple[str, ...] = ()
    approval_digest: str | None = None


@dataclass(frozen=True, slots=True)
class AuthResult:
    session_jwt: SessionToSign  # signed when the answer reads it, after the commit
    mfa_token: str | None
    elevated_token: str | None
    device_id: str | None
    # The user's verified credentials as this transaction leaves them, for the answer's ``user``.
    credentials: list[VerifiedCredential] | None = None

    @property
    def issued(self) -> IssuedSession:
        """The re-issued session JWT (signed on first read)."""
        return self.session_jwt.issued()


def check_mint(mint: MintRequest) -> None:
    """Refuse a malformed request (unknown scopes, a digest that is not 64 lower-case hex) before
    anything is checked or spent."""
    if mint.requested_scopes:
        validate_requested_scopes(list(mint.requested_scopes))
    if mint.approval_digest is not None and (
        len(mint.approval_digest) != 64 or any(c not in "0123456789abcdef" for c in mint.approval_digest)
    ):
        raise InvalidRequestError("approvalDigest must be 64 lower-case hex characters", field="approvalDigest")


class Completion:
    def __init__(self, keyring: Keyring, tokens: TokenService, sessions: SessionService) -> None:
        self.keyring = keyring
        self.tokens = tokens
        self.sessions = sessions

    def complete(
        self,
        uow: MfaUnit,
        ctx: AuthContext,
        mint: MintRequest,
        *,
        via: str,
        device_id: str | None,
        now: datetime,
        user_changed: bool = False,
    ) -> AuthResult:
        """Upgrade the session in place and mint the requested tokens (same transaction).

        ``user_changed``: this transaction changed the user's row (a method was verified just now,
        which sets the recovery codes' acknowledgement), so it is read again for the answer."""
        if ctx.session.scope is not SessionScope.USER_BASIC:
            uow.sessions.set_scope(ctx.session.id, SessionScope.USER_BASIC)
            audit.record(uow, ctx, AuditEvent.SESSION_MFA_COMPLETED, now=now, outcome="ok", via=via)
        # The session and user were read (and checked live) by this request's authentication; the
        # only change since is the scope set just above, so the JWT is issued from them without
        # reading both rows again (issue 15: round trips inside the write transaction).
        session = replace(ctx.session, scope=SessionScope.USER_BASIC)
        user = uow.users.get(ctx.environment.id, ctx.user.id) if user_changed else ctx.user
        assert user is not None  # noqa: S101 - the caller's live session's user
        audit.record(uow, ctx, AuditEvent.MFA_AUTH_SUCCEEDED, now=now, action=via, outcome="ok", deviceId=device_id)
        mfa_token = None
        if mint.create_mfa_token:
            mfa_token = self.tokens.mint_mfa_token(
                uow, ctx, single_use=mint.single_use, approval_digest=mint.approval_digest, via=via
            )
        elevated = None
        if mint.requested_scopes:
            elevated = self.tokens.mint_elevated(
                uow, ctx, mint.requested_scopes, approval_digest=mint.approval_digest, via=via
            )
        session_jwt = self.sessions.to_sign(uow, ctx.environment, session, user, env_checked=True)
        return AuthResult(
            session_jwt=session_jwt, mfa_token=mfa_token, elevated_token=elevated, device_id=device_id,
            credentials=Credentials.in_unit(uow, user),
        )

    def method_verified(self, uow: MfaUnit, ctx: AuthContext, now: datetime) -> bool:
        """A method was verified (TOTP enrolment, passkey registration): remove the user's other
        pending TOTP devices, and create recovery codes at the first verified method; true if they
        were created now.

        A pending device started before the user had a method was started without proof of MFA;
        left in place it would be a dormant second factor nobody proved (security review).
        """
        for device in uow.mfa.devices(ctx.user.id):
            if device.type is MFADeviceType.TOTP and not device.verified:
                uow.mfa.delete_device(device.id)
                audit.record(
                    uow, ctx, AuditEvent.MFA_DEVICE_DELETED, now=now, outcome="pending_removed", deviceId=device.id
                )
        if uow.mfa.has_recovery_codes(ctx.user.id):
            return False
        new_recovery_codes(uow, self.keyring, ctx, now)
        return True
