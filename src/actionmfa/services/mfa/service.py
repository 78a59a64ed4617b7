"""The MFA core's use cases: TOTP enrolment and authentication, recovery codes, devices, step-up.

Each public method opens its own transaction (the routers call exactly one of them). Code-checking
methods follow one shape (:meth:`MfaService._code_attempt`): lock the user's attempt state, refuse
while locked out, check the code, and on failure *commit* the counted failure before raising
``mfa_invalid_code`` — a failure that rolled back would not count.

A successful MFA authentication keeps the session (same ``sid``), sets its scope to ``user:basic``
in the database, re-issues the session JWT and mints what was asked for: an MFA token
(``createMfaToken``) and/or an elevated access token (``requestedScopes``).

Hooks for other areas:

* sign-in calls :func:`sign_in_scope` to learn the scope of a new session (session-based MFA);
* passkey registration calls :meth:`MfaService.on_method_verified` in its transaction so the first
  verified method creates recovery codes, exactly as TOTP does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from actionmfa.crypto import Keyring
from actionmfa.domain.actions import (
    BackupCodeAcknowledgement,
    MFAAction,
    MFADeviceType,
    SessionScope,
)
from actionmfa.domain.models import AuthContext, Environment, User
from actionmfa.domain.policy import session_scope_at_sign_in
from actionmfa.domain.tokens import ACTION_FOR_SCOPE, KNOWN_SCOPES, validate_requested_scopes
from actionmfa.errors import (
    ActionMFAError,
    InvalidRequestError,
    InvalidScopesError,
    MfaDeviceNotFoundError,
    MfaInvalidCodeError,
    MfaMethodDisabledError,
    MfaRateLimitedError,
    MfaRequiredError,
    NotFoundError,
    RecoveryCodesAcknowledgedError,
    TotpDeviceExistsError,
)
from actionmfa.factors import recovery, totp
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded, gate_for
from actionmfa.services.core.sessions import IssuedSession
from actionmfa.services.mfa import lockout as ratelimit
from actionmfa.services.mfa.views import device_view, passkey_view
from actionmfa.store.repos.mfa import DeviceRow, MfaRepo
from actionmfa.store.uow import UnitOfWork

T = TypeVar("T")
MFA_SERVICE_KEY = "mfa"
CREDENTIAL_LINK = "credential:link"
CREDENTIAL_UNLINK = "credential:unlink"
CREDENTIAL_UPDATE = "credential:update"


def totp_aad(device_id: str) -> str:
    return f"totp:{device_id}"


def codes_aad(user_id: str) -> str:
    return f"recovery:{user_id}"


def sign_in_scope(uow: UnitOfWork, env: Environment, user: User) -> SessionScope:
    """Scope of a new session: ``requiresAdditionalAuth`` when session MFA applies (policy module)."""
    has = MfaRepo(uow.conn).has_verified_method(user.id)
    return session_scope_at_sign_in(env.settings.security.mfa, has_verified_method=has)


@dataclass(frozen=True, slots=True)
class TotpRegistration:
    id: str
    secret: str
    uri: str


@dataclass(frozen=True, slots=True)
class MintRequest:
    """What a successful MFA authentication should mint (from the request body)."""

    create_mfa_token: bool = False
    single_use: bool = True
    requested_scopes: tuple[str, ...] = ()
    approval_digest: str | None = None


@dataclass(frozen=True, slots=True)
class AuthResult:
    issued: IssuedSession
    mfa_token: str | None
    elevated_token: str | None
    device_id: str | None


@dataclass(frozen=True, slots=True)
class _Failed:
    error: ActionMFAError


class MfaService:
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.keyring: Keyring = runtime.keyring
        self.clock = runtime.clock
        self.gate: Gate = gate_for(runtime)
        self.tokens = self.gate.tokens

    # -- helpers -------------------------------------------------------------------------------
    def _issuer(self, env: Environment, user: User) -> tuple[str, str]:
        return env.name, user.email or user.id

    def _code_attempt(
        self,
        ctx: AuthContext,
        route: str,
        check: Callable[[UnitOfWork, datetime], T | None],
        after_failure: Callable[[], None] | None = None,
    ) -> T:
        """Run one code check with the per-user lockout (DESIGN §8); see the module docstring."""
        outcome: T | _Failed
        with self.db.write() as uow:
            now = self.clock.now()
            try:
                ratelimit.begin(uow, ctx.user.id, now)
            except MfaRateLimitedError as err:
                audit.record(uow, ctx, AuditEvent.MFA_RATE_LIMITED, now=now, action=route, outcome=err.code)
                outcome = _Failed(err)
            else:
                result = check(uow, now)
                if result is None:
                    locked = ratelimit.fail(uow, ctx.user.id, route, now)
                    audit.record(
                        uow, ctx, AuditEvent.MFA_AUTH_FAILED, now=now, action=route, outcome="mfa_invalid_code"
                    )
                    if locked:
                        audit.record(
                            uow,
                            ctx,
                            AuditEvent.MFA_LOCKED_OUT,
                            now=now,
                            action=route,
                            outcome="locked",
                            minutes=int(ratelimit.LOCKOUT.total_seconds() // 60),
                        )
                    outcome = _Failed(MfaInvalidCodeError())
                else:
                    ratelimit.succeed(uow, ctx.user.id)
                    outcome = result
        if isinstance(outcome, _Failed):
            raise outcome.error
        return outcome

    def complete_authentication(
        self, uow: UnitOfWork, ctx: AuthContext, mint: MintRequest, *, via: str, device_id: str | None, now: datetime
    ) -> AuthResult:
        """Upgrade the session in place and mint the requested tokens (same transaction)."""
        if ctx.session.scope is not SessionScope.USER_BASIC:
            uow.sessions.set_scope(ctx.session.id, SessionScope.USER_BASIC)
            audit.record(uow, ctx, AuditEvent.SESSION_MFA_COMPLETED, now=now, outcome="ok", via=via)
        session = uow.sessions.get(ctx.session.id)
        user = uow.users.get(ctx.environment.id, ctx.user.id)
        assert session is not None and user is not None  # noqa: S101 - the caller's live session
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
        issued = self.runtime.sessions.issue(uow, ctx.environment, session, user)
        return AuthResult(issued=issued, mfa_token=mfa_token, elevated_token=elevated, device_id=device_id)

    def on_method_verified(self, uow: UnitOfWork, ctx: AuthContext, now: datetime) -> bool:
        """A method was verified (TOTP enrolment, passkey registration): remove the user's other
        pending TOTP devices, and create recovery codes at the first verified method; true if they
        were created now.

        A pending device started before the user had a method was started without proof of MFA;
        left in place it would be a dormant second factor nobody proved (security review).
        """
        repo = MfaRepo(uow.conn)
        for device in repo.devices(ctx.user.id):
            if device.type is MFADeviceType.TOTP and not device.verified:
                repo.delete_device(device.id)
                audit.record(
                    uow, ctx, AuditEvent.MFA_DEVICE_DELETED, now=now, outcome="pending_removed", deviceId=device.id
                )
        if repo.has_recovery_codes(ctx.user.id):
            return False
        self._new_recovery_codes(uow, ctx, now)
        return True

    def _new_recovery_codes(self, uow: UnitOfWork, ctx: AuthContext, now: datetime) -> list[str]:
        codes = recovery.generate_codes()
        purpose = recovery.hash_purpose(ctx.user.id)
        repo = MfaRepo(uow.conn)
        repo.replace_recovery_codes(
            ctx.user.id,
            [
                {
                    "id": str(uuid.uuid4()),
                    "user_id": ctx.user.id,
                    "created_at": now,
                    "code_hash": self.keyring.keyed_hash(code, purpose=purpose),
                    "used_at": None,
                }
                for code in codes
            ],
        )
        sealed = self.keyring.encrypt(json.dumps(codes).encode(), aad=codes_aad(ctx.user.id))
        repo.set_state(ctx.user.id, pending_codes_enc=sealed)
        uow.users.update(ctx.user.id, now, mfa_backup_code_ack=BackupCodeAcknowledgement.PENDING.value)
        audit.record(uow, ctx, AuditEvent.RECOVERY_CODES_CREATED, now=now, outcome="ok", count=len(codes))
        return codes

    def _gated(
        self,
        ctx: AuthContext,
        target: MFAAction | str,
        mfa_token: str | None,
        elevated_token: str | None,
        body: Callable[[UnitOfWork, datetime], T],
    ) -> T:
        with denials_recorded(self.db), self.db.write() as uow:
            self.gate.enforce(uow, ctx, target, mfa_token=mfa_token, elevated_token=elevated_token)
            return body(uow, self.clock.now())

    # -- TOTP enrolment ------------------------------------------------------------------------
    def register_totp(
        self, ctx: AuthContext, *, mfa_token: str | None = None, elevated_token: str | None = None
    ) -> TotpRegistration:
        """``GET /users/mfa/register/totp``: a fresh pending device (replacing a pending one).

        Adding a second factor when the user already has one needs proof of MFA
        (``credential:link``), so a stolen session cannot plant an attacker's authenticator.
        """
        if not ctx.settings.security.mfa.method_enabled(MFADeviceType.TOTP):
            raise MfaMethodDisabledError()

        def has_verified_totp(uow: UnitOfWork) -> bool:
            return any(d.type is MFADeviceType.TOTP and d.verified for d in MfaRepo(uow.conn).devices(ctx.user.id))

        with self.db.read() as uow:  # one verified TOTP device per user: say so before asking for MFA
            if has_verified_totp(uow):
                raise TotpDeviceExistsError()

        def body(uow: UnitOfWork, now: datetime) -> TotpRegistration:
            repo = MfaRepo(uow.conn)
            if has_verified_totp(uow):
                raise TotpDeviceExistsError()
            repo.delete_pending(ctx.user.id, MFADeviceType.TOTP)
            device_id = str(uuid.uuid4())
            secret = totp.generate_secret()
            repo.add_device(
                id=device_id,
                user_id=ctx.user.id,
                type=MFADeviceType.TOTP,
                secret_enc=self.keyring.encrypt(secret.encode(), aad=totp_aad(device_id)),
                now=now,
            )
            audit.record(uow, ctx, AuditEvent.MFA_ENROLLMENT_STARTED, now=now, outcome="ok", deviceId=device_id)
            issuer, label = self._issuer(ctx.environment, ctx.user)
            return TotpRegistration(device_id, secret, totp.provisioning_uri(secret, issuer=issuer, label=label))

        return self._gated(ctx, CREDENTIAL_LINK, mfa_token, elevated_token, body)

    def verify_totp_registration(
        self, ctx: AuthContext, code: object, *, mfa_token: str | None = None, elevated_token: str | None = None
    ) -> dict[str, Any]:
        """``POST /users/mfa/register/totp {type, code}`` → the now verified ``MFADevice``.

        When the user has a verified method at this point, completing the enrolment needs the same
        proof as starting it (``credential:link``): otherwise a pending device started before the
        first method was verified could be turned into a second factor without it. The proof is
        checked after the code (as passkey registration does), so a wrong code does not spend it;
        no proof at all is refused before the code is looked at.
        """
        presented = bool(mfa_token) or bool(elevated_token)

        def check(uow: UnitOfWork, now: datetime) -> dict[str, Any] | None:
            device = self._pending_totp(uow, ctx, None)
            if not presented and _has_any_method(uow, ctx.user.id):
                self.gate.enforce(uow, ctx, CREDENTIAL_LINK, mfa_token=None, elevated_token=None)
            step = totp.verify(self._secret(device), code, at=now, last_step=None)
            if step is None:
                return None
            self.gate.enforce(uow, ctx, CREDENTIAL_LINK, mfa_token=mfa_token, elevated_token=elevated_token)
            self._verify_device(uow, ctx, device, step, now)
            if ctx.session.scope is not SessionScope.USER_BASIC:
                uow.sessions.set_scope(ctx.session.id, SessionScope.USER_BASIC)
            verified = MfaRepo(uow.conn).device(ctx.user.id, device.id)
            assert verified is not None  # noqa: S101
            return device_view(verified)

        with denials_recorded(self.db):
            return self._code_attempt(ctx, "totp_register", check)

    def pending_totp_uri(self, ctx: AuthContext, device_id: str) -> str:
        """The ``otpauth://`` URI of the caller's own pending TOTP device, for the QR code the server
        renders (``GET /users/mfa/register/totp/qr?deviceId=``): the secret never travels in a URL.

        Another user's device, a verified one or an unknown id: 404 ``mfa_device_not_found``. A
        session still waiting for session MFA whose user has a method gets 403 ``mfa_required``
        before any device is looked at: the first factor alone must not read a secret the user is
        about to make their second one.
        """
        with self.db.read() as uow:
            if ctx.session.scope is not SessionScope.USER_BASIC and _has_any_method(uow, ctx.user.id):
                raise MfaRequiredError()
            device = MfaRepo(uow.conn).device(ctx.user.id, device_id)
            if device is None or device.type is not MFADeviceType.TOTP or device.verified:
                raise MfaDeviceNotFoundError()
        issuer, label = self._issuer(ctx.environment, ctx.user)
        return totp.provisioning_uri(self._secret(device), issuer=issuer, label=label)

    def _pending_totp(self, uow: UnitOfWork, ctx: AuthContext, device_id: str | None) -> DeviceRow:
        for d in MfaRepo(uow.conn).devices(ctx.user.id):
            if d.type is MFADeviceType.TOTP and not d.verified and device_id in (None, d.id):
                return d
        raise MfaDeviceNotFoundError()

    def _secret(self, device: DeviceRow) -> str:
        assert device.secret_enc is not None  # noqa: S101 - TOTP devices always have one
        return self.keyring.decrypt(device.secret_enc, aad=totp_aad(device.id)).decode()

    def _verify_device(self, uow: UnitOfWork, ctx: AuthContext, device: DeviceRow, step: int, now: datetime) -> None:
        repo = MfaRepo(uow.conn)
        make_default = not any(d.is_default for d in repo.devices(ctx.user.id))
        if not repo.mark_verified(device.id, step=step, make_default=make_default, now=now):
            raise MfaDeviceNotFoundError()
        audit.record(uow, ctx, AuditEvent.MFA_ENROLLED, now=now, outcome="ok", deviceId=device.id, type="totp")
        self.on_method_verified(uow, ctx, now)

    # -- MFA authentication --------------------------------------------------------------------
    def authenticate_totp(
        self, ctx: AuthContext, code: object, *, device_id: str | None, mint: MintRequest
    ) -> AuthResult:
        """``POST /users/mfa/auth/totp``: a verified device, or completes a pending one's enrolment
        while the user has no verified method yet (the first method needs no proof). Once another
        method is verified a pending device is answered as unknown (404 ``mfa_device_not_found``):
        adding it is ``POST /users/mfa/register/totp`` with ``credential:link`` proof."""
        self.check_mint(mint)

        def check(uow: UnitOfWork, now: datetime) -> AuthResult | None:
            devices = [d for d in MfaRepo(uow.conn).devices(ctx.user.id) if d.type is MFADeviceType.TOTP]
            device = next((d for d in devices if d.verified and device_id in (None, d.id)), None)
            if device is None and not _has_any_method(uow, ctx.user.id):
                device = next((d for d in devices if not d.verified and device_id in (None, d.id)), None)
            if device is None:
                raise MfaDeviceNotFoundError()
            step = totp.verify(self._secret(device), code, at=now, last_step=device.last_step)
            if step is None:
                return None
            if device.verified:
                # The conditional write is what makes "accepted once" hold under concurrency.
                if not MfaRepo(uow.conn).advance_step(device.id, step):
                    return None
            else:
                self._verify_device(uow, ctx, device, step, now)
            return self.complete_authentication(uow, ctx, mint, via="totp", device_id=device.id, now=now)

        return self._code_attempt(ctx, "totp", check)

    def authenticate_recovery(self, ctx: AuthContext, code: object, *, mint: MintRequest) -> AuthResult:
        """``POST /users/mfa/auth/recovery``: spend one recovery code exactly once."""
        self.check_mint(mint)

        def check(uow: UnitOfWork, now: datetime) -> AuthResult | None:
            normalized = recovery.normalize_code(code)
            if normalized is None:
                return None
            code_hash = self.keyring.keyed_hash(normalized, purpose=recovery.hash_purpose(ctx.user.id))
            if not MfaRepo(uow.conn).spend_recovery_code(ctx.user.id, code_hash, now):
                return None
            return self.complete_authentication(uow, ctx, mint, via="recovery", device_id=None, now=now)

        return self._code_attempt(ctx, "recovery", check)

    @staticmethod
    def check_mint(mint: MintRequest) -> None:
        if mint.requested_scopes:
            validate_requested_scopes(list(mint.requested_scopes))
        if mint.approval_digest is not None and (
            len(mint.approval_digest) != 64 or any(c not in "0123456789abcdef" for c in mint.approval_digest)
        ):
            raise InvalidRequestError("approvalDigest must be 64 lower-case hex characters", field="approvalDigest")

    # -- devices -------------------------------------------------------------------------------
    def list_devices(self, ctx: AuthContext) -> list[dict[str, Any]]:
        with self.db.read() as uow:
            return [device_view(d) for d in MfaRepo(uow.conn).devices(ctx.user.id)]

    def methods(self, ctx: AuthContext, *, verified_only: bool) -> dict[str, Any]:
        with self.db.read() as uow:
            repo = MfaRepo(uow.conn)
            devices = [d for d in repo.devices(ctx.user.id) if d.verified or not verified_only]
            passkeys = [passkey_view(p) for p in repo.passkeys(ctx.user.id)]
            return {
                "devices": [device_view(d) for d in devices],
                "passkeys": passkeys,
                "userHasVerifiedMfaMethods": repo.has_verified_method(ctx.user.id),
            }

    def get_device(self, ctx: AuthContext, device_id: str) -> dict[str, Any]:
        with self.db.read() as uow:
            device = MfaRepo(uow.conn).device(ctx.user.id, device_id)
        if device is None:
            raise MfaDeviceNotFoundError()
        return device_view(device)

    def set_default(self, ctx: AuthContext, device_id: str) -> None:
        with self.db.write() as uow:
            repo = MfaRepo(uow.conn)
            device = repo.device(ctx.user.id, device_id)
            if device is None or not device.verified:
                raise MfaDeviceNotFoundError()
            repo.set_default(ctx.user.id, device_id)
            audit.record(
                uow, ctx, AuditEvent.MFA_DEVICE_DEFAULT_SET, now=self.clock.now(), outcome="ok", deviceId=device_id
            )

    def delete_device(
        self, ctx: AuthContext, device_id: str, *, mfa_token: str | None, elevated_token: str | None
    ) -> None:
        """``DELETE /users/mfa/{id}``: gated by ``credential:unlink`` (an MFA token of this session)."""
        with self.db.read() as uow:
            if MfaRepo(uow.conn).device(ctx.user.id, device_id) is None:
                raise MfaDeviceNotFoundError()

        def body(uow: UnitOfWork, now: datetime) -> None:
            repo = MfaRepo(uow.conn)
            if repo.device(ctx.user.id, device_id) is None:
                raise MfaDeviceNotFoundError()
            repo.delete_device(device_id)
            audit.record(uow, ctx, AuditEvent.MFA_DEVICE_DELETED, now=now, outcome="ok", deviceId=device_id)

        self._gated(ctx, CREDENTIAL_UNLINK, mfa_token, elevated_token, body)

    # -- recovery codes ------------------------------------------------------------------------
    def recovery_codes(self, ctx: AuthContext) -> list[str]:
        """``GET /users/mfa/recovery``: the unused codes, while acknowledgement is pending only."""
        with self.db.read() as uow:
            repo = MfaRepo(uow.conn)
            user = uow.users.get(ctx.environment.id, ctx.user.id)
            state = repo.state(ctx.user.id)
            if user is None or not repo.has_recovery_codes(ctx.user.id):
                raise NotFoundError("No recovery codes: enrol an MFA method first")
            if (
                user.mfa_backup_code_ack != BackupCodeAcknowledgement.PENDING.value
                or state is None
                or state.pending_codes_enc is None
            ):
                raise RecoveryCodesAcknowledgedError()
            codes: list[str] = json.loads(self.keyring.decrypt(state.pending_codes_enc, aad=codes_aad(ctx.user.id)))
            purpose = recovery.hash_purpose(ctx.user.id)
            unused = set(repo.unused_recovery_hashes(ctx.user.id))
            return [c for c in codes if self.keyring.keyed_hash(c, purpose=purpose) in unused]

    def regenerate_recovery_codes(
        self, ctx: AuthContext, *, mfa_token: str | None, elevated_token: str | None
    ) -> list[str]:
        """``POST /users/mfa/recovery``: a new set (old one invalid), shown until acknowledged."""
        with self.db.read() as uow:
            if not MfaRepo(uow.conn).has_verified_method(ctx.user.id):
                raise NotFoundError("No recovery codes: enrol an MFA method first")
        return self._gated(
            ctx, CREDENTIAL_UPDATE, mfa_token, elevated_token, lambda uow, now: self._new_recovery_codes(uow, ctx, now)
        )

    def acknowledge_recovery_codes(self, uow: UnitOfWork, ctx: AuthContext) -> None:
        """``PUT /users {mfaBackupCodeAcknowledgement: "complete"}``: never shown again (no MFA needed)."""
        now = self.clock.now()
        repo = MfaRepo(uow.conn)
        if repo.state(ctx.user.id) is not None:
            repo.set_state(ctx.user.id, pending_codes_enc=None)
        if ctx.user.mfa_backup_code_ack is not None:
            uow.users.update(ctx.user.id, now, mfa_backup_code_ack=BackupCodeAcknowledgement.COMPLETE.value)
            audit.record(uow, ctx, AuditEvent.RECOVERY_CODES_ACKNOWLEDGED, now=now, outcome="ok")

    def update_user(
        self, ctx: AuthContext, fields: dict[str, Any], *, mfa_token: str | None, elevated_token: str | None
    ) -> User:
        """``PUT /users``: profile changes are the ``user.update`` action (gated); acknowledging the
        recovery codes alone is not gated (DESIGN §3)."""
        from actionmfa.services.mfa import profile as user_service

        ack = fields.get("mfaBackupCodeAcknowledgement")
        if ack is not None and ack != BackupCodeAcknowledgement.COMPLETE.value:
            raise InvalidRequestError(
                "mfaBackupCodeAcknowledgement can only be set to 'complete'", field="mfaBackupCodeAcknowledgement"
            )
        changes = user_service.profile_changes(fields)
        with denials_recorded(self.db), self.db.write() as uow:
            if changes:
                self.gate.enforce(uow, ctx, MFAAction.USER_UPDATE, mfa_token=mfa_token, elevated_token=elevated_token)
            if ack is not None:
                self.acknowledge_recovery_codes(uow, ctx)
            return user_service.update_self(uow, self.runtime, ctx, fields)

    # -- requirement and step-up ---------------------------------------------------------------
    def is_required_for_action(self, ctx: AuthContext, action: MFAAction) -> bool:
        with self.db.read() as uow:
            return self.gate.is_required(uow, ctx, action)

    def step_up_check(self, ctx: AuthContext, scope: str) -> dict[str, Any]:
        """``POST /stepUp/check {scope}`` → ``{isRequired, credentials, defaultCredentialId}``."""
        if scope not in KNOWN_SCOPES:
            raise InvalidScopesError(f"unknown scope {scope!r}", field="scope")
        action = ACTION_FOR_SCOPE.get(scope)
        with self.db.read() as uow:
            required = self.gate.is_required(uow, ctx, action if action is not None else scope)
            repo = MfaRepo(uow.conn)
            devices = [d for d in repo.devices(ctx.user.id) if d.verified]
            passkeys = repo.passkeys(ctx.user.id)
        if not required:
            return {"isRequired": False, "credentials": [], "defaultCredentialId": None}
        creds: list[tuple[datetime, dict[str, Any]]] = []
        for d in devices:
            creds.append((d.created_at, {"id": d.id, "format": "totp", "type": "totp", "alias": d.alias}))
        for p in passkeys:
            creds.append(
                (p["created_at"], {"id": p["id"], "format": "passkey", "type": "passkey", "alias": p.get("alias")})
            )
        default = next((d.id for d in devices if d.is_default), None)
        if default is None and creds:
            default = max(creds, key=lambda c: c[0])[1]["id"]  # the most recently added method
        return {"isRequired": True, "credentials": [c for _, c in creds], "defaultCredentialId": default}


def _has_any_method(uow: UnitOfWork, user_id: str) -> bool:
    """A verified TOTP device or any passkey, whatever the settings say about counting them: the
    strict question for "may a pending device still become the first method without proof"."""
    repo = MfaRepo(uow.conn)
    return repo.count_verified_devices(user_id) > 0 or bool(repo.passkeys(user_id))


def mfa_service(runtime: Any) -> MfaService:
    """The process's MFA service (cached in ``runtime.extras``)."""
    svc = runtime.extras.get(MFA_SERVICE_KEY)
    if svc is None:
        svc = MfaService(runtime)
        runtime.extras[MFA_SERVICE_KEY] = svc
    return svc  # type: ignore[no-any-return]
