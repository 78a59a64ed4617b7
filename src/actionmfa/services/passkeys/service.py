"""Passkeys as an MFA method: ceremonies, verification, management (issue 4, DESIGN §8).

Every ceremony is two requests. The GET hands out options whose challenge (32 random bytes) is
stored as a keyed hash, bound to user, session and ceremony kind, valid five minutes. The POST
first *spends* the challenge in a transaction of its own that commits whatever happens next — so
a challenge is used by the first POST that presents it, success or failure — and then verifies
in a second transaction. That second transaction is also where a correctly signed assertion whose
counter did not grow marks the credential as possibly cloned: the mark and its audit row commit
even though the request is refused.

Passkey failures never touch the code lockout (``mfa_failures``), and the lockout is not consulted
here: a user locked out of codes can still prove themselves with a passkey.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring, b64u
from actionmfa.domain.actions import MFADeviceType, TokenScope
from actionmfa.domain.models import AuthContext, User
from actionmfa.errors import (
    ActionMFAError,
    InvalidRequestError,
    MaxPasskeysPerUserError,
    MfaMethodDisabledError,
    PasskeyChallengeInvalidError,
    PasskeyInvalidError,
    PasskeyNotFoundError,
)
from actionmfa.factors import passkey as pk
from actionmfa.services.core import audit
from actionmfa.services.core.gate import denials_recorded, gate_for
from actionmfa.services.mfa.service import MfaService, MintRequest
from actionmfa.store.db import Database
from actionmfa.store.repos.passkeys import ChallengeRow, PasskeyRepo, PasskeyRow
from actionmfa.store.uow import UnitOfWork

CHALLENGE_PURPOSE = "passkey-challenge"
MAX_PASSKEYS_PER_USER = 25
MAX_ALIAS = 200


class PasskeyEvent:
    """Audit event names of this area (strings in the shared audit log)."""

    REGISTERED = "passkey.registered"
    REGISTRATION_FAILED = "passkey.registration_failed"
    AUTH_FAILED = "mfa.auth_failed"
    POSSIBLY_CLONED = "passkey.possibly_cloned"
    RENAMED = "passkey.renamed"
    DELETED = "passkey.deleted"


@dataclass(frozen=True)
class Proof:
    """The MFA proofs a request presented (headers), for operations on MFA methods themselves."""

    mfa_token: str | None = None
    elevated_token: str | None = None


# The step shared with TOTP and recovery codes (the MFA core's): upgrade the session, re-issue the
# JWT, mint what was asked for; on registration also the first-method recovery codes. Signature:
# (uow, ctx, request, passkey id, registered) -> the core's AuthResult. Injected so that this
# module never re-implements token minting.
CompleteMfa = Callable[[UnitOfWork, AuthContext, MintRequest, str, bool], Any]
# The proof check for linking/unlinking a method: (uow, ctx, scope, proof) -> None or raises.
RequireProof = Callable[[UnitOfWork, AuthContext, str, Proof], None]


def relying_party(ctx: AuthContext) -> pk.RelyingParty:
    s = ctx.settings.security.passkeys
    return pk.RelyingParty(id=s.rpId, name=s.rpName, origins=tuple(s.origins))


def require_enabled(ctx: AuthContext) -> None:
    """Passkeys switched off in ``security.mfa.methods`` (``{type: passkey, enabled: false}``) are
    no factor: no options, no registration, no authentication (``mfa_method_disabled``). Listing,
    renaming and deleting stored passkeys stay possible, and the requirement rule does not count
    them meanwhile (``domain.policy.method_counts``), so nobody is asked for a factor they cannot
    present."""
    if not ctx.settings.security.mfa.method_enabled(MFADeviceType.PASSKEY):
        raise MfaMethodDisabledError("Passkeys are not enabled for this environment")


def user_handle(user: User) -> bytes:
    """The WebAuthn user handle: the user's UUID bytes — opaque, stable, no personal data (§14.6.1)."""
    try:
        return uuid.UUID(user.id).bytes
    except ValueError:
        return hashlib.sha256(user.id.encode()).digest()[:16]


def passkey_json(row: PasskeyRow) -> dict[str, Any]:
    """Dynamic's ``UserPasskey`` plus the WebAuthn facts a management page shows."""
    return {
        "id": row.id,
        "alias": row.alias,
        "userAgent": row.user_agent,
        "origin": row.origin,
        "credentialId": row.credential_id,
        "createdAt": row.created_at.isoformat(),
        "updatedAt": row.updated_at.isoformat(),
        "lastUsedAt": row.last_used_at.isoformat() if row.last_used_at else None,
        "aaguid": row.aaguid,
        "algorithm": row.algorithm,
        "transports": list(row.transports),
        "backupEligible": row.backup_eligible,
        "backedUp": row.backed_up,
        "possiblyCloned": row.possibly_cloned_at is not None,
    }


class PasskeyService:
    def __init__(
        self, keyring: Keyring, clock: Clock, *, complete_mfa: CompleteMfa, require_proof: RequireProof
    ) -> None:
        self.keyring = keyring
        self.clock = clock
        self.complete_mfa = complete_mfa
        self.require_proof = require_proof

    # -- options --------------------------------------------------------------------------------

    def registration_options(self, uow: UnitOfWork, ctx: AuthContext) -> dict[str, Any]:
        """``GET /users/passkeys/register``: creation options, flat, plus ``ceremonyId``."""
        require_enabled(ctx)
        repo = PasskeyRepo(uow.conn)
        existing = repo.for_user(ctx.user.id)
        _check_limit(len(existing))
        challenge = pk_challenge()
        user = ctx.user
        name = user.email or user.external_id or user.id
        display = user.alias or " ".join(p for p in (user.first_name, user.last_name) if p) or name
        options = pk.registration_options(
            rp=relying_party(ctx),
            user_handle=user_handle(user),
            user_name=name,
            user_display_name=display,
            challenge=challenge,
            exclude=[_descriptor(r) for r in existing],
        )
        return self._open(uow, ctx, pk.Ceremony.REGISTER, challenge, options)

    def authentication_options(self, uow: UnitOfWork, ctx: AuthContext) -> dict[str, Any]:
        """``GET /users/passkeys/authenticate``: request options listing the user's passkeys."""
        require_enabled(ctx)
        usable = [r for r in PasskeyRepo(uow.conn).for_user(ctx.user.id) if r.possibly_cloned_at is None]
        if not usable:
            raise PasskeyNotFoundError("No passkey registered for this user")
        challenge = pk_challenge()
        options = pk.authentication_options(
            rp=relying_party(ctx), challenge=challenge, allow=[_descriptor(r) for r in usable]
        )
        return self._open(uow, ctx, pk.Ceremony.AUTHENTICATE, challenge, options)

    def _open(
        self, uow: UnitOfWork, ctx: AuthContext, kind: pk.Ceremony, challenge: bytes, options: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.clock.now()
        repo = PasskeyRepo(uow.conn)
        repo.purge_challenges(now)  # expired rows can never be spent; keep the table small
        ceremony_id = str(uuid.uuid4())
        repo.add_challenge(
            id=ceremony_id,
            environment_id=ctx.environment.id,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            kind=kind.value,
            challenge_hash=self._hash(challenge),
            options=options,
            created_at=now,
            expires_at=now + pk.CHALLENGE_TTL,
        )
        return {**options, "ceremonyId": ceremony_id}

    def hosted_ceremony(self, uow: UnitOfWork, environment_id: str, ceremony_id: str) -> ChallengeRow:
        """The open ceremony the hosted page runs (unknown, spent or expired → challenge invalid)."""
        try:
            uuid.UUID(ceremony_id)
        except ValueError:
            raise PasskeyChallengeInvalidError() from None
        row = PasskeyRepo(uow.conn).open_ceremony(environment_id, ceremony_id, self.clock.now())
        if row is None:
            raise PasskeyChallengeInvalidError()
        return row

    # -- the POSTs ------------------------------------------------------------------------------

    def register(
        self, db: Database, ctx: AuthContext, credential: Mapping[str, Any], mfa: MintRequest, proof: Proof
    ) -> Any:
        """``POST /users/passkeys/register``: verify, store, and complete an MFA authentication."""
        require_enabled(ctx)
        cred = pk.normalise_credential(credential)
        MfaService.check_mint(mfa)  # refuse a bad request before it spends the challenge
        self._spend(db, ctx, cred, pk.Ceremony.REGISTER)
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
            self._audit_failure(db, ctx, PasskeyEvent.REGISTRATION_FAILED, exc)
            raise
        with denials_recorded(db), db.write() as uow:
            # Taken first, before the gate's token rows: the limit counted below holds until commit.
            PasskeyRepo(uow.conn).lock_user(ctx.user.id)
            # Adding a second factor to an account that has one needs proof of the first (MFA
            # token or ``credential:link`` elevated token): otherwise a stolen session could
            # plant the attacker's own passkey. The gate spends single-use proofs here.
            self.require_proof(uow, ctx, TokenScope.CREDENTIAL_LINK.value, proof)
            return self._store_and_complete(uow, ctx, cred, verified, mfa)

    def _store_and_complete(
        self,
        uow: UnitOfWork,
        ctx: AuthContext,
        cred: Mapping[str, Any],
        verified: pk.VerifiedPasskey,
        mfa: MintRequest,
    ) -> Any:
        repo = PasskeyRepo(uow.conn)
        # Again here, under the user lock: options fetched while below the limit must not let
        # several POSTs store past it.
        _check_limit(repo.count_for_user(ctx.user.id))
        credential_id = b64u(verified.credential_id)
        if repo.by_credential(ctx.environment.id, credential_id) is not None:
            raise _duplicate()
        now = self.clock.now()
        passkey_id = str(uuid.uuid4())
        origin = _client_origin(cred)
        try:
            # Read-then-insert above is only a fast path: a registration of the same credential
            # committed meanwhile (another worker) is caught by the unique index.
            repo.add(
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
                origin=origin,
                user_agent=(ctx.meta.user_agent or "")[:500] or None,
                created_at=now,
                updated_at=now,
                last_used_at=now,
            )
        except IntegrityError:
            raise _duplicate() from None
        audit.record(
            uow,
            ctx,
            PasskeyEvent.REGISTERED,
            now=now,
            outcome="ok",
            deviceId=passkey_id,
            aaguid=verified.aaguid,
            algorithm=verified.algorithm,
            backupEligible=verified.backup_eligible,
        )
        # "Registering a passkey will automatically authenticate it": same completion as a login.
        return self.complete_mfa(uow, ctx, mfa, passkey_id, True)

    def authenticate(self, db: Database, ctx: AuthContext, credential: Mapping[str, Any], mfa: MintRequest) -> Any:
        """``POST /users/mfa/auth/passkey``: verify an assertion and complete MFA."""
        require_enabled(ctx)
        cred = pk.normalise_credential(credential)
        MfaService.check_mint(mfa)
        self._spend(db, ctx, cred, pk.Ceremony.AUTHENTICATE)
        credential_id = b64u(pk.credential_id_of(cred))
        failure: ActionMFAError | None = None
        result: Any = None
        with db.write() as uow:
            repo = PasskeyRepo(uow.conn)
            row = repo.by_credential(ctx.environment.id, credential_id)
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
                        repo.mark_possibly_cloned(row.id, now)
                        audit.record(
                            uow,
                            ctx,
                            PasskeyEvent.POSSIBLY_CLONED,
                            now=now,
                            outcome="refused",
                            deviceId=row.id,
                            storedSignCount=row.sign_count,
                        )
                else:
                    if not repo.advance_counter(
                        row.id,
                        expected=row.sign_count,
                        new=verified.new_sign_count,
                        backed_up=verified.backed_up,
                        now=now,
                    ):
                        # Another assertion of this credential won the race; refuse rather than
                        # let two requests both pass one counter value.
                        raise PasskeyInvalidError(payload={"reason": pk.PasskeyFailure.COUNTER.value})
                    result = self.complete_mfa(uow, ctx, mfa, row.id, False)
        if failure is not None:
            self._audit_failure(db, ctx, PasskeyEvent.AUTH_FAILED, failure)
            raise failure
        return result

    def _spend(self, db: Database, ctx: AuthContext, cred: Mapping[str, Any], kind: pk.Ceremony) -> ChallengeRow:
        """Spend the challenge the client signed over; commits on its own (success or failure)."""
        challenge = pk.client_data_challenge(cred)
        digest = self._hash(challenge)
        now = self.clock.now()
        with db.write() as uow:
            repo = PasskeyRepo(uow.conn)
            row = repo.spend_challenge(
                challenge_hash=digest,
                environment_id=ctx.environment.id,
                user_id=ctx.user.id,
                session_id=ctx.session.id,
                kind=kind.value,
                now=now,
            )
            if row is None:
                repo.burn_challenge(digest, now)  # presented out of its binding: spent all the same
        if row is None or row.expires_at <= now:
            self._audit_failure(db, ctx, PasskeyEvent.AUTH_FAILED, PasskeyChallengeInvalidError(), kind=kind.value)
            raise PasskeyChallengeInvalidError()
        return row

    def _audit_failure(self, db: Database, ctx: AuthContext, event: str, exc: ActionMFAError, **extra: Any) -> None:
        reason = (exc.payload or {}).get("reason", exc.code)
        with db.write() as uow:
            audit.record(
                uow, ctx, event, now=self.clock.now(), outcome="refused", method="passkey", reason=reason, **extra
            )

    # -- management -----------------------------------------------------------------------------

    def list(self, uow: UnitOfWork, ctx: AuthContext) -> list[PasskeyRow]:
        return PasskeyRepo(uow.conn).for_user(ctx.user.id)

    def rename(self, uow: UnitOfWork, ctx: AuthContext, passkey_id: str, alias: str | None) -> PasskeyRow:
        if alias is not None:
            alias = alias.strip()
            if len(alias) > MAX_ALIAS:
                raise InvalidRequestError(f"alias: at most {MAX_ALIAS} characters", field="alias")
        repo = PasskeyRepo(uow.conn)
        now = self.clock.now()
        if not repo.rename(ctx.user.id, passkey_id, alias or None, now):
            raise PasskeyNotFoundError()
        audit.record(uow, ctx, PasskeyEvent.RENAMED, now=now, outcome="ok", deviceId=passkey_id)
        row = repo.get(ctx.user.id, passkey_id)
        assert row is not None  # noqa: S101 - renamed in this transaction
        return row

    def delete(self, db: Database, ctx: AuthContext, passkey_id: str, proof: Proof) -> None:
        """Remove a passkey; needs an MFA token or a ``credential:unlink`` elevated token."""
        with denials_recorded(db), db.write() as uow:
            repo = PasskeyRepo(uow.conn)
            if repo.get(ctx.user.id, passkey_id) is None:
                raise PasskeyNotFoundError()
            self.require_proof(uow, ctx, TokenScope.CREDENTIAL_UNLINK.value, proof)
            repo.delete(ctx.user.id, passkey_id)
            audit.record(uow, ctx, PasskeyEvent.DELETED, now=self.clock.now(), outcome="ok", deviceId=passkey_id)

    def _hash(self, challenge: bytes) -> str:
        return self.keyring.keyed_hash(challenge, purpose=CHALLENGE_PURPOSE)


def pk_challenge() -> bytes:
    return secrets.token_bytes(pk.CHALLENGE_BYTES)


def _check_limit(count: int) -> None:
    if count >= MAX_PASSKEYS_PER_USER:
        raise MaxPasskeysPerUserError(f"At most {MAX_PASSKEYS_PER_USER} passkeys per user")


def _duplicate() -> PasskeyInvalidError:
    # §7.1 step 26: a credential id registered before (to anyone in this environment) is refused.
    return PasskeyInvalidError("This passkey is already registered", payload={"reason": "duplicate"})


def _descriptor(row: PasskeyRow) -> pk.CredentialDescriptor:
    return pk.CredentialDescriptor(pk.b64u_decode(row.credential_id), row.transports)


def _client_origin(cred: Mapping[str, Any]) -> str | None:
    try:
        origin = json.loads(pk.b64u_decode(cred["response"]["clientDataJSON"])).get("origin")
    except (ValueError, KeyError, AttributeError):
        return None
    return str(origin)[:300] if origin else None


__all__ = [
    "CompleteMfa",
    "PasskeyEvent",
    "PasskeyService",
    "Proof",
    "RequireProof",
    "passkey_json",
    "relying_party",
    "require_enabled",
    "user_handle",
]


# -- wiring ----------------------------------------------------------------------------------------

PASSKEYS_KEY = "passkeys"


def passkeys_for(runtime: Any) -> PasskeyService:
    """The process's passkey service (cached in ``runtime.extras``), wired to the MFA core: the
    shared gate for linking/unlinking, and the shared completion step (session upgrade, token
    minting, recovery codes at the first verified method)."""
    service = runtime.extras.get(PASSKEYS_KEY)
    if service is None:
        from actionmfa.services.mfa.service import mfa_service

        def require_proof(uow: UnitOfWork, ctx: AuthContext, scope: str, proof: Proof) -> None:
            gate_for(runtime).enforce(uow, ctx, scope, mfa_token=proof.mfa_token, elevated_token=proof.elevated_token)

        def complete(uow: UnitOfWork, ctx: AuthContext, req: MintRequest, device_id: str, registered: bool) -> Any:
            core = mfa_service(runtime)
            now = runtime.clock.now()
            if registered:
                core.on_method_verified(uow, ctx, now)
            return core.complete_authentication(uow, ctx, req, via="passkey", device_id=device_id, now=now)

        service = PasskeyService(runtime.keyring, runtime.clock, complete_mfa=complete, require_proof=require_proof)
        runtime.extras[PASSKEYS_KEY] = service
    return service  # type: ignore[no-any-return]
