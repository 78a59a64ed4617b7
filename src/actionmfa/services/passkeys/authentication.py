"""``POST /users/mfa/auth/passkey``: verify an assertion (WebAuthn L3 §7.2) and complete MFA.

The challenge is spent first (:meth:`PasskeyCeremonies.spend`). A correctly signed assertion whose
counter did not grow marks the credential as possibly cloned: the mark and its audit row commit
even though the request is refused. The counter moves by one conditional UPDATE, so two requests
cannot both pass with one counter value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import b64u
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

        ``caller``: the session, or a verified JWT whose session is read in the challenge's
        transaction (issue 15: no read transaction of its own)."""
        kind = pk.Ceremony.AUTHENTICATE
        with self.db.write() as uow:  # commits: the challenge is spent whatever comes next
            ctx = self.sessions.context(uow, caller)
            cred, spent = self.ceremonies.accept_in(uow, ctx, credential, mint, kind)
        cred = self.ceremonies.challenge_checked(ctx, cred, spent, kind)
        credential_id = b64u(pk.credential_id_of(cred))
        failure: ActionMFAError | None = None
        result: AuthResult | None = None
        with self.db.write() as uow:
            row = uow.passkeys.by_credential(ctx.environment.id, credential_id)
            now = self.clock.now()
            if row is None or row.user_id != ctx.user.id:
                # Deleted, never registered, or another user's: all the same to this user.
                failure = PasskeyNotFoundError()
            elif row.possibly_cloned_at is not None:
                failure = PasskeyInvalidError(
                    "This passkey was flagged as possibly cloned; remove it and register a new one",
                    payload={"reason": pk.PasskeyFailure.CLONED.value},
                )
            else:
                rp = relying_party(ctx)
                try:
                    verified = pk.verify_authentication(
                        credential=cred,
                        expected_challenge=pk.client_data_challenge(cred),
                        expected_rp_id=rp.id,
                        expected_origins=rp.origins,
                        credential_public_key=row.public_key,
                        stored_sign_count=row.sign_count,
                        expected_user_handle=user_handle(ctx.user),
                    )
                except PasskeyInvalidError as exc:
                    failure = exc
                    if (exc.payload or {}).get("reason") == pk.PasskeyFailure.COUNTER.value:
                        # A valid signature with a stale counter: two copies of the key exist.
                        uow.passkeys.mark_possibly_cloned(row.id, now)
                        audit.record(
                            uow,
                            ctx,
                            AuditEvent.PASSKEY_POSSIBLY_CLONED,
                            now=now,
                            outcome="refused",
                            deviceId=row.id,
                            storedSignCount=row.sign_count,
                        )
                else:
                    if not uow.passkeys.advance_counter(
                        row.id,
                        expected=row.sign_count,
                        new=verified.new_sign_count,
                        backed_up=verified.backed_up,
                        now=now,
                    ):
                        # Another assertion of this credential won the race; refuse rather than
                        # let two requests both pass one counter value.
                        raise PasskeyInvalidError(payload={"reason": pk.PasskeyFailure.COUNTER.value})
                    result = self.completion.complete(uow, ctx, mint, via="passkey", device_id=row.id, now=now)
        if failure is not None:
            self.ceremonies.audit_failure(ctx, AuditEvent.MFA_AUTH_FAILED, failure)
            raise failure
        assert result is not None  # noqa: S101 - set whenever there is no failure
        return result
