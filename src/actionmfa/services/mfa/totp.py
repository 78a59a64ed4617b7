"""TOTP as an MFA method (RFC 6238): enrolment, the QR code's URI, authentication.

One verified device per user; the secret is sealed with the keyring (AAD ``totp:<device id>``);
each time step is accepted at most once per device (the conditional write in the store).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFADeviceType, SessionScope, TokenScope
from actionmfa.domain.models import AuthContext, Environment, User
from actionmfa.domain.records import DeviceRow
from actionmfa.domain.tokens import Proof
from actionmfa.errors import (
    MfaCodeAlreadyUsedError,
    MfaDeviceNotFoundError,
    MfaMethodDisabledError,
    MfaRequiredError,
    TotpDeviceExistsError,
)
from actionmfa.factors import totp
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import Caller
from actionmfa.services.mfa.completion import AuthResult, Completion, MintRequest, check_mint
from actionmfa.services.mfa.lockout import CodeAttempts, CodeRoute, Refused
from actionmfa.services.mfa.methods import has_any_method
from actionmfa.services.mfa.ports import MfaUnit
from actionmfa.services.mfa.views import device_view

CREDENTIAL_LINK = TokenScope.CREDENTIAL_LINK


def totp_aad(device_id: str) -> str:
    return f"totp:{device_id}"


@dataclass(frozen=True, slots=True)
class TotpRegistration:
    id: str
    secret: str
    uri: str


def _issuer(env: Environment, user: User) -> tuple[str, str]:
    # The app's display name, never the environment's operator-facing name ("default").
    return env.settings.app_name(), user.email or user.id


def _already_used(last_step: int, now: datetime) -> Refused:
    """A right code for a step already accepted: its own answer (and still a counted failure,
    DESIGN §8), with the wait until the next step the device will accept."""
    wait = totp.seconds_until_step(last_step + 1, at=now)
    return Refused(MfaCodeAlreadyUsedError(payload={"retryAfterSeconds": wait}))


class Totp:
    def __init__(
        self,
        db: Transactions[MfaUnit],
        keyring: Keyring,
        clock: Clock,
        gate: Gate,
        attempts: CodeAttempts,
        completion: Completion,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.gate = gate
        self.attempts = attempts
        self.completion = completion

    # -- enrolment -----------------------------------------------------------------------------
    def register_totp(self, ctx: AuthContext, proof: Proof = Proof()) -> TotpRegistration:
        """``GET /users/mfa/register/totp``: a fresh pending device (replacing a pending one).

        Adding a second factor when the user already has one needs proof of MFA
        (``credential:link``), so a stolen session cannot plant an attacker's authenticator.
        """
        if not ctx.settings.security.mfa.method_enabled(MFADeviceType.TOTP):
            raise MfaMethodDisabledError()

        def has_verified_totp(uow: MfaUnit) -> bool:
            return any(d.type is MFADeviceType.TOTP and d.verified for d in uow.mfa.devices(ctx.user.id))

        with self.db.read() as uow:  # one verified TOTP device per user: say so before asking for MFA
            if has_verified_totp(uow):
                raise TotpDeviceExistsError()

        def add_pending(uow: MfaUnit, now: datetime) -> TotpRegistration:
            if has_verified_totp(uow):
                raise TotpDeviceExistsError()
            uow.mfa.delete_pending(ctx.user.id, MFADeviceType.TOTP)
            device_id = str(uuid.uuid4())
            secret = totp.generate_secret()
            uow.mfa.add_device(
                id=device_id,
                user_id=ctx.user.id,
                type=MFADeviceType.TOTP,
                secret_enc=self.keyring.encrypt(secret.encode(), aad=totp_aad(device_id)),
                now=now,
            )
            audit.record(uow, ctx, AuditEvent.MFA_ENROLLMENT_STARTED, now=now, outcome="ok", deviceId=device_id)
            issuer, label = _issuer(ctx.environment, ctx.user)
            return TotpRegistration(device_id, secret, totp.provisioning_uri(secret, issuer=issuer, label=label))

        return self.gate.run(self.db, ctx, CREDENTIAL_LINK, proof, add_pending)

    def verify_totp_registration(
        self, ctx: AuthContext, code: object, proof: Proof = Proof()
    ) -> dict[str, Any]:
        """``POST /users/mfa/register/totp {type, code}`` → the now verified ``MFADevice``.

        When the user has a verified method at this point, completing the enrolment needs the same
        proof as starting it (``credential:link``): otherwise a pending device started before the
        first method was verified could be turned into a second factor without it. The proof is
        checked after the code (as passkey registration does), so a wrong code does not spend it;
        no proof at all is refused before the code is looked at.
        """
        presented = bool(proof.mfa_token) or bool(proof.elevated_token)

        def check(uow: MfaUnit, ctx: AuthContext, now: datetime) -> dict[str, Any] | None:
            device = self._pending_totp(uow, ctx, None)
            if not presented and has_any_method(uow, ctx.user.id):
                self.gate.enforce(uow, ctx, CREDENTIAL_LINK, Proof())
            step = totp.verify(self._secret(device), code, at=now, last_step=None)
            if step is None:
                return None
            self.gate.enforce(uow, ctx, CREDENTIAL_LINK, proof)
            self._verify_device(uow, ctx, device, step, now)
            if ctx.session.scope is not SessionScope.USER_BASIC:
                uow.sessions.set_scope(ctx.session.id, SessionScope.USER_BASIC)
            verified = uow.mfa.device(ctx.user.id, device.id)
            assert verified is not None  # noqa: S101
            return device_view(verified)

        with denials_recorded(self.db):
            return self.attempts.attempt(ctx, CodeRoute.TOTP_REGISTER, check)

    def pending_totp_uri(self, ctx: AuthContext, device_id: str) -> str:
        """The ``otpauth://`` URI of the caller's own pending TOTP device, for the QR code the server
        renders (``GET /users/mfa/register/totp/qr?deviceId=``): the secret never travels in a URL.

        Another user's device, a verified one or an unknown id: 404 ``mfa_device_not_found``. A
        session still waiting for session MFA whose user has a method gets 403 ``mfa_required``
        before any device is looked at: the first factor alone must not read a secret the user is
        about to make their second one.
        """
        with self.db.read() as uow:
            if ctx.session.scope is not SessionScope.USER_BASIC and has_any_method(uow, ctx.user.id):
                raise MfaRequiredError()
            device = uow.mfa.device(ctx.user.id, device_id)
            if device is None or device.type is not MFADeviceType.TOTP or device.verified:
                raise MfaDeviceNotFoundError()
        issuer, label = _issuer(ctx.environment, ctx.user)
        return totp.provisioning_uri(self._secret(device), issuer=issuer, label=label)

    # -- authentication ------------------------------------------------------------------------
    def authenticate_totp(
        self, caller: Caller, code: object, *, device_id: str | None, mint: MintRequest
    ) -> AuthResult:
        """``POST /users/mfa/auth/totp``: a verified device, or completes a pending one's enrolment
        while the user has no verified method yet (the first method needs no proof). Once another
        method is verified a pending device is answered as unknown (404 ``mfa_device_not_found``):
        adding it is ``POST /users/mfa/register/totp`` with ``credential:link`` proof.

        ``caller``: the session, or a verified JWT whose session is read in this authentication's
        own transaction (issue 15)."""

        def check(uow: MfaUnit, ctx: AuthContext, now: datetime) -> AuthResult | Refused | None:
            devices = [d for d in uow.mfa.devices(ctx.user.id) if d.type is MFADeviceType.TOTP]
            device = next((d for d in devices if d.verified and device_id in (None, d.id)), None)
            if device is None and not has_any_method(uow, ctx.user.id):
                device = next((d for d in devices if not d.verified and device_id in (None, d.id)), None)
            if device is None:
                raise MfaDeviceNotFoundError()
            step = totp.matched_step(self._secret(device), code, at=now)
            if step is None:
                return None
            if device.last_step is not None and step <= device.last_step:
                return _already_used(device.last_step, now)
            if device.verified:
                # The conditional write is what makes "accepted once" hold under concurrency.
                if not uow.mfa.advance_step(device.id, step):
                    return _already_used(step, now)
            else:
                self._verify_device(uow, ctx, device, step, now)
            return self.completion.complete(
                uow, ctx, mint, via="totp", device_id=device.id, now=now, user_changed=not device.verified
            )

        return self.attempts.attempt(caller, CodeRoute.TOTP, check, validate=lambda: check_mint(mint))

    # -- helpers -------------------------------------------------------------------------------
    def _pending_totp(self, uow: MfaUnit, ctx: AuthContext, device_id: str | None) -> DeviceRow:
        for d in uow.mfa.devices(ctx.user.id):
            if d.type is MFADeviceType.TOTP and not d.verified and device_id in (None, d.id):
                return d
        raise MfaDeviceNotFoundError()

    def _secret(self, device: DeviceRow) -> str:
        assert device.secret_enc is not None  # noqa: S101 - TOTP devices always have one
        return self.keyring.decrypt(device.secret_enc, aad=totp_aad(device.id)).decode()

    def _verify_device(self, uow: MfaUnit, ctx: AuthContext, device: DeviceRow, step: int, now: datetime) -> None:
        make_default = not any(d.is_default for d in uow.mfa.devices(ctx.user.id))
        if not uow.mfa.mark_verified(device.id, step=step, make_default=make_default, now=now):
            raise MfaDeviceNotFoundError()
        audit.record(uow, ctx, AuditEvent.MFA_ENROLLED, now=now, outcome="ok", deviceId=device.id, type="totp")
        self.completion.method_verified(uow, ctx, now)
