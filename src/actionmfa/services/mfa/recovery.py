"""Recovery codes as a factor: show them while unacknowledged, regenerate (gated), acknowledge,
authenticate with one (each code spent exactly once)."""

from __future__ import annotations

import json
from datetime import datetime

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import BackupCodeAcknowledgement
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import CREDENTIAL_UPDATE, Proof
from actionmfa.errors import NotFoundError, RecoveryCodesAcknowledgedError
from actionmfa.factors import recovery
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate
from actionmfa.services.core.methods import has_verified_method
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import Caller
from actionmfa.services.mfa.codeset import codes_aad, new_recovery_codes
from actionmfa.services.mfa.completion import AuthResult, Completion, MintRequest, check_mint
from actionmfa.services.mfa.lockout import CodeAttempts, CodeRoute
from actionmfa.services.mfa.ports import MfaUnit


class RecoveryCodes:
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

    def recovery_codes(self, ctx: AuthContext) -> list[str]:
        """``GET /users/mfa/recovery``: the unused codes, while acknowledgement is pending only."""
        with self.db.read() as uow:
            user = uow.users.get(ctx.environment.id, ctx.user.id)
            state = uow.mfa.state(ctx.user.id)
            if user is None or not uow.mfa.has_recovery_codes(ctx.user.id):
                raise NotFoundError("No recovery codes: enrol an MFA method first")
            if (
                user.mfa_backup_code_ack != BackupCodeAcknowledgement.PENDING.value
                or state is None
                or state.pending_codes_enc is None
            ):
                raise RecoveryCodesAcknowledgedError()
            codes: list[str] = json.loads(self.keyring.decrypt(state.pending_codes_enc, aad=codes_aad(ctx.user.id)))
            purpose = recovery.hash_purpose(ctx.user.id)
            unused = set(uow.mfa.unused_recovery_hashes(ctx.user.id))
            return [c for c in codes if self.keyring.keyed_hash(c, purpose=purpose) in unused]

    def regenerate_recovery_codes(self, ctx: AuthContext, proof: Proof) -> list[str]:
        """``POST /users/mfa/recovery``: a new set (old one invalid), shown until acknowledged."""
        with self.db.read() as uow:
            if not has_verified_method(uow, ctx.user.id, ctx.settings.security.mfa):
                raise NotFoundError("No recovery codes: enrol an MFA method first")

        def regenerate(uow: MfaUnit, now: datetime) -> list[str]:
            return new_recovery_codes(uow, self.keyring, ctx, now)

        return self.gate.run(self.db, ctx, CREDENTIAL_UPDATE, proof, regenerate)

    def acknowledge(self, uow: MfaUnit, ctx: AuthContext, now: datetime) -> None:
        """``PUT /users {mfaBackupCodeAcknowledgement: "complete"}``: never shown again (no MFA needed).
        Runs in the caller's transaction (the profile update's)."""
        if uow.mfa.state(ctx.user.id) is not None:
            uow.mfa.set_pending_codes(ctx.user.id, None)
        if ctx.user.mfa_backup_code_ack is not None:
            uow.users.update(ctx.user.id, now, mfa_backup_code_ack=BackupCodeAcknowledgement.COMPLETE.value)
            audit.record(uow, ctx, AuditEvent.RECOVERY_CODES_ACKNOWLEDGED, now=now, outcome="ok")

    def authenticate_recovery(self, caller: Caller, code: object, *, mint: MintRequest) -> AuthResult:
        """``POST /users/mfa/auth/recovery``: spend one recovery code exactly once (``caller`` as for
        :meth:`~actionmfa.services.mfa.totp.Totp.authenticate_totp`)."""

        def check(uow: MfaUnit, ctx: AuthContext, now: datetime) -> AuthResult | None:
            normalized = recovery.normalize_code(code)
            if normalized is None:
                return None
            code_hash = self.keyring.keyed_hash(normalized, purpose=recovery.hash_purpose(ctx.user.id))
            if not uow.mfa.spend_recovery_code(ctx.user.id, code_hash, now):
                return None
            return self.completion.complete(uow, ctx, mint, via="recovery", device_id=None, now=now)

        return self.attempts.attempt(caller, CodeRoute.RECOVERY, check, validate=lambda: check_mint(mint))
