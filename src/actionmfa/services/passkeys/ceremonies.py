"""Passkey ceremonies (issue 4, DESIGN §8): the options a GET hands out, and the challenge a POST spends.

Every ceremony is two requests. The GET hands out options whose challenge (32 random bytes) is
stored as a keyed hash, bound to user, session and ceremony kind, valid five minutes. The POST
*spends* the challenge in a write transaction that commits whatever happens next — so a challenge
is used by the first POST that presents it, success or failure: registration spends it in a
transaction of its own before it verifies (:mod:`.registration`); authentication verifies the
assertion first, outside any transaction, and spends the challenge in the one write transaction
that also moves the counter and completes MFA (:mod:`.authentication`).

Passkey failures never touch the code lockout (``mfa_failures``), and the lockout is not consulted
here: a user locked out of codes can still prove themselves with a passkey.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.models import AuthContext, User
from actionmfa.domain.records import ChallengeRow, PasskeyRow
from actionmfa.errors import (
    ActionMFAError,
    MaxPasskeysPerUserError,
    MfaMethodDisabledError,
    PasskeyChallengeInvalidError,
    PasskeyNotFoundError,
)
from actionmfa.factors import passkey as pk
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.ports import Transactions
from actionmfa.services.mfa.completion import MintRequest, check_mint
from actionmfa.services.passkeys.ports import PasskeyUnit

CHALLENGE_PURPOSE = "passkey-challenge"
MAX_PASSKEYS_PER_USER = 25


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


def check_limit(count: int) -> None:
    if count >= MAX_PASSKEYS_PER_USER:
        raise MaxPasskeysPerUserError(f"At most {MAX_PASSKEYS_PER_USER} passkeys per user")


def client_origin(cred: Mapping[str, Any]) -> str | None:
    """The origin the browser reported (kept for the management page; verification checks it)."""
    try:
        origin = json.loads(pk.b64u_decode(cred["response"]["clientDataJSON"])).get("origin")
    except (ValueError, KeyError, AttributeError):
        return None
    return str(origin)[:300] if origin else None


def _descriptor(row: PasskeyRow) -> pk.CredentialDescriptor:
    return pk.CredentialDescriptor(pk.b64u_decode(row.credential_id), row.transports)


class PasskeyCeremonies:
    def __init__(self, db: Transactions[PasskeyUnit], keyring: Keyring, clock: Clock) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock

    # -- options --------------------------------------------------------------------------------
    def registration_options(self, ctx: AuthContext) -> dict[str, Any]:
        """``GET /users/passkeys/register``: creation options, flat, plus ``ceremonyId``."""
        require_enabled(ctx)
        with self.db.write() as uow:
            existing = uow.passkeys.for_user(ctx.user.id)
            check_limit(len(existing))
            challenge = secrets.token_bytes(pk.CHALLENGE_BYTES)
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

    def authentication_options(self, ctx: AuthContext) -> dict[str, Any]:
        """``GET /users/passkeys/authenticate``: request options listing the user's passkeys."""
        require_enabled(ctx)
        with self.db.write() as uow:
            usable = [r for r in uow.passkeys.for_user(ctx.user.id) if r.possibly_cloned_at is None]
            if not usable:
                raise PasskeyNotFoundError("No passkey registered for this user")
            challenge = secrets.token_bytes(pk.CHALLENGE_BYTES)
            options = pk.authentication_options(
                rp=relying_party(ctx), challenge=challenge, allow=[_descriptor(r) for r in usable]
            )
            return self._open(uow, ctx, pk.Ceremony.AUTHENTICATE, challenge, options)

    def _open(
        self, uow: PasskeyUnit, ctx: AuthContext, kind: pk.Ceremony, challenge: bytes, options: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.clock.now()
        uow.passkeys.purge_challenges(now)  # expired rows can never be spent; keep the table small
        ceremony_id = str(uuid.uuid4())
        uow.passkeys.add_challenge(
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

    def hosted_ceremony(self, environment_id: str, ceremony_id: str) -> ChallengeRow:
        """The open ceremony the hosted page runs (unknown, spent or expired → challenge invalid)."""
        try:
            uuid.UUID(ceremony_id)
        except ValueError:
            raise PasskeyChallengeInvalidError() from None
        with self.db.read() as uow:
            row = uow.passkeys.open_ceremony(environment_id, ceremony_id, self.clock.now())
        if row is None:
            raise PasskeyChallengeInvalidError()
        return row

    # -- the POSTs' first step ------------------------------------------------------------------
    def accept(
        self, ctx: AuthContext, credential: Mapping[str, Any], mint: MintRequest, kind: pk.Ceremony
    ) -> Mapping[str, Any]:
        """What registration does first: :meth:`admit`, then the challenge spent in a transaction of
        its own (committed whatever comes next)."""
        cred = self.admit(ctx, credential, mint)
        with self.db.write() as uow:
            refusal = self.spend_in(uow, ctx, cred, kind)
            if refusal is not None:
                self.audit_failure_in(uow, ctx, AuditEvent.MFA_AUTH_FAILED, refusal, kind=kind.value)
        if refusal is not None:
            raise refusal
        return cred

    @staticmethod
    def admit(ctx: AuthContext, credential: Mapping[str, Any], mint: MintRequest) -> Mapping[str, Any]:
        """Passkeys enabled, the credential in WebAuthn JSON form with a readable challenge, the
        request's mint options well formed: refused before anything is spent."""
        require_enabled(ctx)
        cred = pk.normalise_credential(credential)
        pk.client_data_challenge(cred)
        check_mint(mint)
        return cred

    def spend_in(
        self, uow: PasskeyUnit, ctx: AuthContext, cred: Mapping[str, Any], kind: pk.Ceremony
    ) -> PasskeyChallengeInvalidError | None:
        """Spend the challenge ``cred`` answers — one conditional UPDATE, in the caller's write
        transaction, which must commit (the challenge is spent whatever comes next). None if this
        call spent it and it had not expired; else the refusal (a challenge presented out of its
        binding is burnt all the same)."""
        challenge = pk.client_data_challenge(cred)
        digest = self._hash(challenge)
        now = self.clock.now()
        row = uow.passkeys.spend_challenge(
            challenge_hash=digest,
            environment_id=ctx.environment.id,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            kind=kind.value,
            now=now,
        )
        if row is None:
            uow.passkeys.burn_challenge(digest, now)  # presented out of its binding: spent all the same
        if row is None or row.expires_at <= now:
            return PasskeyChallengeInvalidError()
        return None

    def audit_failure(self, ctx: AuthContext, event: AuditEvent, exc: ActionMFAError, **extra: Any) -> None:
        """Audit a refused ceremony in a transaction of its own (the refusal itself rolls back nothing)."""
        with self.db.write() as uow:
            self.audit_failure_in(uow, ctx, event, exc, **extra)

    def audit_failure_in(
        self, uow: PasskeyUnit, ctx: AuthContext, event: AuditEvent, exc: ActionMFAError, **extra: Any
    ) -> None:
        """:meth:`audit_failure` in the caller's write transaction (which must commit)."""
        reason = (exc.payload or {}).get("reason", exc.code)
        audit.record(uow, ctx, event, now=self.clock.now(), outcome="refused", method="passkey", reason=reason, **extra)

    def _hash(self, challenge: bytes) -> str:
        return self.keyring.keyed_hash(challenge, purpose=CHALLENGE_PURPOSE)
