"""``POST /users/passkeys/register``: verify an attestation, store the passkey, complete MFA.

Registering counts as an MFA authentication ("registering a passkey will automatically
authenticate it"): the same completion as TOTP and recovery codes (session upgrade, JWT re-issue,
tokens minted on request), and the first verified method creates the recovery codes. Adding a
passkey to an account that already has a method needs proof of the first (``credential:link``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import b64u
from actionmfa.domain.actions import TokenScope
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.errors import PasskeyInvalidError
from actionmfa.factors import passkey as pk
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.mfa.completion import AuthResult, Completion, MintRequest
from actionmfa.services.passkeys.ceremonies import (
    PasskeyCeremonies,
    check_limit,
    client_origin,
    relying_party,
)
from actionmfa.services.passkeys.ports import PasskeyUnit


def _duplicate() -> PasskeyInvalidError:
    # §7.1 step 26: a credential id registered before (to anyone in this environment) is refused.
    return PasskeyInvalidError("This passkey is already registered", payload={"reason": "duplicate"})


class PasskeyRegistration:
    def __init__(
        self,
        db: Transactions[PasskeyUnit],
        clock: Clock,
        ceremonies: PasskeyCeremonies,
        gate: Gate,
        completion: Completion,
    ) -> None:
        self.db = db
        self.clock = clock
        self.ceremonies = ceremonies
        self.gate = gate
        self.completion = completion

    def register(self, ctx: AuthContext, credential: Mapping[str, Any], mint: MintRequest, proof: Proof) -> AuthResult:
        """Verify, store, and complete an MFA authentication."""
        cred = self.ceremonies.accept(ctx, credential, mint, pk.Ceremony.REGISTER)
        rp = relying_party(ctx)
        try:
            # Pure verification first: a refused attestation must not burn the MFA token that
            # the gate would spend below (a failed action does not spend its token, DESIGN §6).
            verified = pk.verify_registration(
                credential=cred,
                expected_challenge=pk.client_data_challenge(cred),
                expected_rp_id=rp.id,
                expected_origins=rp.origins,
            )
        except PasskeyInvalidError as exc:
            self.ceremonies.audit_failure(ctx, AuditEvent.PASSKEY_REGISTRATION_FAILED, exc)
            raise
        with denials_recorded(self.db), self.db.write() as uow:
            # Taken first, before the gate's token rows: the limit counted below holds until commit.
            uow.passkeys.lock_user(ctx.user.id)
            # Adding a second factor to an account that has one needs proof of the first (MFA
            # token or ``credential:link`` elevated token): otherwise a stolen session could
            # plant the attacker's own passkey. The gate spends single-use proofs here.
            self.gate.enforce(uow, ctx, TokenScope.CREDENTIAL_LINK, proof)
            return self._store_and_complete(uow, ctx, cred, verified, mint)

    def _store_and_complete(
        self,
        uow: PasskeyUnit,
        ctx: AuthContext,
        cred: Mapping[str, Any],
        verified: pk.VerifiedPasskey,
        mint: MintRequest,
    ) -> AuthResult:
        # Again here, under the user lock: options fetched while below the limit must not let
        # several POSTs store past it.
        check_limit(uow.passkeys.count_for_user(ctx.user.id))
        credential_id = b64u(verified.credential_id)
        if uow.passkeys.by_credential(ctx.environment.id, credential_id) is not None:
            raise _duplicate()
        now = self.clock.now()
        passkey_id = str(uuid.uuid4())
        # Read-then-insert above is only a fast path: a registration of the same credential
        # committed meanwhile (another worker) is caught by the unique index.
        stored = uow.passkeys.add(
            id=passkey_id,
            environment_id=ctx.environment.id,
            user_id=ctx.user.id,
            credential_id=credential_id,
            public_key=verified.public_key,
            algorithm=verified.algorithm,
            sign_count=verified.sign_count,
            transports=list(verified.transports),
            aaguid=verified.aaguid,
            backup_eligible=verified.backup_eligible,
            backed_up=verified.backed_up,
            alias=None,
            origin=client_origin(cred),
            user_agent=(ctx.meta.user_agent or "")[:500] or None,
            created_at=now,
            updated_at=now,
            last_used_at=now,
        )
        if not stored:
            raise _duplicate()
        audit.record(
            uow,
            ctx,
            AuditEvent.PASSKEY_REGISTERED,
            now=now,
            outcome="ok",
            deviceId=passkey_id,
            aaguid=verified.aaguid,
            algorithm=verified.algorithm,
            backupEligible=verified.backup_eligible,
        )
        # "Registering a passkey will automatically authenticate it": same completion as a login.
        self.completion.method_verified(uow, ctx, now)
        return self.completion.complete(
            uow, ctx, mint, via="passkey", device_id=passkey_id, now=now, user_changed=True
        )
