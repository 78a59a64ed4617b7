"""``POST /users/mfa/auth/passkey``: verify an assertion (WebAuthn L3 §7.2) and complete MFA.

Three steps (issue 15.1: no signature check under SQLite's writer lock, one write transaction):

1. a read: the caller's session and the passkey the assertion names;
2. outside any transaction: the assertion's signature, origin, rp id and flags against that
   passkey's public key (:func:`~actionmfa.factors.passkey.verify_assertion`; CPU);
3. one write transaction that commits whatever the outcome: it spends the challenge (one
   conditional UPDATE — a replay of the assertion or a second use of the challenge, even a
   concurrent one, finds it spent: ``passkey_challenge_invalid`` comes before any other answer),
   then judges the counter against the passkey *as it is now* and moves it by a compare-and-set
   on the value read in step 1. If that row changed meanwhile, it is read again in this
   transaction and judged again, so the outcome is the one a serial order gives: a credential
   deleted or flagged meanwhile is refused, a counter that did not grow past the stored one marks
   the credential as possibly cloned (the mark and its audit row commit even though the request
   is refused), and two requests never both pass with one counter value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import b64u
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import PasskeyRow
from actionmfa.errors import ActionMFAError, PasskeyInvalidError, PasskeyNotFoundError
from actionmfa.factors import passkey as pk
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import Caller, SessionService
from actionmfa.services.mfa.completion import AuthResult, Completion, MintRequest
from actionmfa.services.passkeys.ceremonies import PasskeyCeremonies, relying_party, user_handle
from actionmfa.services.passkeys.ports import PasskeyUnit


class PasskeyAuthentication:
    def __init__(
        self,
        db: Transactions[PasskeyUnit],
        clock: Clock,
        ceremonies: PasskeyCeremonies,
        completion: Completion,
        sessions: SessionService,
    ) -> None:
        self.db = db
        self.clock = clock
        self.ceremonies = ceremonies
        self.completion = completion
        self.sessions = sessions

    def authenticate(self, caller: Caller, credential: Mapping[str, Any], mint: MintRequest) -> AuthResult:
        """Verify an assertion of one of the caller's passkeys and complete MFA.

        ``caller``: the session, or a verified JWT whose session is read in step 1's transaction."""
        failure: ActionMFAError | None = None
        verified: pk.VerifiedAssertion | None = None
        row: PasskeyRow | None = None
        with self.db.read() as uow:
            ctx = self.sessions.context(uow, caller)
            cred = self.ceremonies.admit(ctx, credential, mint)  # refused before anything is spent
            try:
                credential_id = b64u(pk.credential_id_of(cred))
            except PasskeyInvalidError as exc:
                failure = exc  # refused once the challenge is spent, as any other failure
            else:
                row = uow.passkeys.by_credential(ctx.environment.id, credential_id)
        if failure is None:
            failure, verified = self._verify(ctx, cred, row)  # no transaction open: the CPU part
        result: AuthResult | None = None
        with self.db.write() as uow:  # commits: the challenge is spent whatever comes next
            refusal = self.ceremonies.spend_in(uow, ctx, cred, pk.Ceremony.AUTHENTICATE)
            if refusal is not None:  # before any other answer: a replay learns nothing more
                failure = refusal
                self.ceremonies.audit_failure_in(
                    uow, ctx, AuditEvent.MFA_AUTH_FAILED, refusal, kind=pk.Ceremony.AUTHENTICATE.value
                )
            else:
                if failure is None and row is not None and verified is not None:
                    now = self.clock.now()
                    failure = self._advance(uow, ctx, row, verified, now)
                    if failure is None:
                        result = self.completion.complete(uow, ctx, mint, via="passkey", device_id=row.id, now=now)
                if failure is not None:
                    self.ceremonies.audit_failure_in(uow, ctx, AuditEvent.MFA_AUTH_FAILED, failure)
        if failure is not None:
            raise failure
        assert result is not None  # noqa: S101 - set whenever there is no failure
        return result

    def _verify(
        self, ctx: AuthContext, cred: Mapping[str, Any], row: PasskeyRow | None
    ) -> tuple[ActionMFAError | None, pk.VerifiedAssertion | None]:
        """Step 2: the assertion against the passkey read in step 1 — all but the counter."""
        failure = self._usable(ctx, row)
        if failure is not None or row is None:
            return failure, None
        rp = relying_party(ctx)
        try:
            return None, pk.verify_assertion(
                credential=cred,
                expected_challenge=pk.client_data_challenge(cred),
                expected_rp_id=rp.id,
                expected_origins=rp.origins,
                credential_public_key=row.public_key,
                expected_user_handle=user_handle(ctx.user),
            )
        except PasskeyInvalidError as exc:
            return exc, None

    @staticmethod
    def _usable(ctx: AuthContext, row: PasskeyRow | None) -> ActionMFAError | None:
        if row is None or row.user_id != ctx.user.id:
            # Deleted, never registered, or another user's: all the same to this user.
            return PasskeyNotFoundError()
        if row.possibly_cloned_at is not None:
            return PasskeyInvalidError(
                "This passkey was flagged as possibly cloned; remove it and register a new one",
                payload={"reason": pk.PasskeyFailure.CLONED.value},
            )
        return None

    def _advance(
        self, uow: PasskeyUnit, ctx: AuthContext, row: PasskeyRow, verified: pk.VerifiedAssertion, now: datetime
    ) -> ActionMFAError | None:
        """Step 3's counter, judged and moved against the passkey as it is in this transaction."""
        if pk.sign_count_ok(stored=row.sign_count, presented=verified.new_sign_count) and self._move(
            uow, row, verified, now
        ):
            return None  # nothing moved since step 1: the common case, one statement
        # Refused on step 1's read, or the row moved since (another assertion, a flag, a deletion):
        # judge the row as it is now.
        fresh = uow.passkeys.by_credential(ctx.environment.id, row.credential_id)
        if fresh is None or fresh.id != row.id:
            return PasskeyNotFoundError()  # the passkey the signature was checked against is gone
        if (failure := self._usable(ctx, fresh)) is not None:
            return failure
        try:
            pk.check_sign_count(stored=fresh.sign_count, verified=verified)
        except PasskeyInvalidError as exc:
            # A valid signature with a stale counter: two copies of the key exist.
            uow.passkeys.mark_possibly_cloned(fresh.id, now)
            audit.record(uow, ctx, AuditEvent.PASSKEY_POSSIBLY_CLONED, now=now, outcome="refused",
                         deviceId=fresh.id, storedSignCount=fresh.sign_count)
            return exc
        if self._move(uow, fresh, verified, now):
            return None
        # Another assertion of this credential won the race again (PostgreSQL has no writer lock):
        # refuse rather than let two requests both pass one counter value.
        return PasskeyInvalidError(payload={"reason": pk.PasskeyFailure.COUNTER.value})

    @staticmethod
    def _move(uow: PasskeyUnit, row: PasskeyRow, verified: pk.VerifiedAssertion, now: datetime) -> bool:
        """The counter's compare-and-set: from the value in ``row`` only."""
        return uow.passkeys.advance_counter(
            row.id, expected=row.sign_count, new=verified.new_sign_count, backed_up=verified.backed_up, now=now
        )
