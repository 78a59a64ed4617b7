"""Minting and checking MFA tokens and elevated access tokens (rules in :mod:`domain.tokens`).

* MFA token: ``random_token()`` (256 bits) handed to the client once; only
  ``keyring.keyed_hash(token, purpose="mfa-token")`` is stored, with user, session and single-use.
* Neither is purged on mint (issue 15: no DELETEs on the hot path): a spent single-use token is
  refused by its ``used_at``, an expired elevated token by its ``exp`` claim, any token of an ended
  session by the session's row; removing such rows is the janitor's housekeeping.
* Elevated token: an ES256 JWT signed with the environment's ``elevated`` key (never the session
  key; its ``aud`` also differs), and a row per ``jti`` so the server refuses a single-use one the
  second time and knows every token it minted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring, random_token
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import (
    ELEVATED_AUDIENCE,
    MfaTokenRecord,
    TokenKind,
    TokenRefusal,
    check_elevated_claims,
    check_mfa_token,
    elevated_claims,
    grant_for_scopes,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.keys import KeyPurpose, SigningKeys
from actionmfa.services.core.ports import CoreUnit
from actionmfa.services.core.sessions import ISSUER

MFA_TOKEN_PURPOSE = "mfa-token"  # noqa: S105 - a hash domain label
MAX_PRESENTED_TOKEN = 200  # characters; minted tokens are 43 (random_token(32)), longer is refused unhashed


@dataclass(frozen=True, slots=True)
class CheckedToken:
    kind: TokenKind
    id: str  # MFA token row id or elevated jti (never the token itself)
    single_use: bool


class TokenService:
    def __init__(self, keyring: Keyring, keys: SigningKeys, clock: Clock) -> None:
        self.keyring = keyring
        self.keys = keys
        self.clock = clock

    # -- MFA tokens ----------------------------------------------------------------------------
    def mint_mfa_token(
        self, uow: CoreUnit, ctx: AuthContext, *, single_use: bool, approval_digest: str | None = None, via: str
    ) -> str:
        token = random_token(32)
        now = self.clock.now()
        token_id = str(uuid.uuid4())
        uow.tokens.add_mfa_token(
            id=token_id,
            token_hash=self.keyring.keyed_hash(token, purpose=MFA_TOKEN_PURPOSE),
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            single_use=single_use,
            approval_digest=approval_digest,
            created_at=now,
        )
        audit.record(
            uow,
            ctx,
            AuditEvent.MFA_TOKEN_MINTED,
            now=now,
            outcome="ok",
            tokenId=token_id,
            singleUse=single_use,
            via=via,
            bound=approval_digest is not None,
        )
        return token

    def check_mfa_token(
        self, uow: CoreUnit, ctx: AuthContext, token: str, approval_digest: str | None
    ) -> CheckedToken:
        """Raise :class:`TokenRefusal` unless ``token`` is a live MFA token of this session."""
        token_hash = self._presented_hash(token)
        if token_hash is None:
            raise TokenRefusal("unknown")
        row = uow.tokens.mfa_token(token_hash)
        record = None
        if row is not None:
            now = self.clock.now()
            alive = row.s_revoked is None and row.s_exp is not None and row.s_exp > now
            record = MfaTokenRecord(
                user_id=row.user_id,
                session_id=row.session_id,
                single_use=row.single_use,
                used_at=row.used_at,
                approval_digest=row.approval_digest,
                session_alive=alive,
            )
        check_mfa_token(record, user_id=ctx.user.id, session_id=ctx.session.id, approval_digest=approval_digest)
        assert row is not None  # noqa: S101 - check_mfa_token refuses None
        return CheckedToken(kind=TokenKind.MFA_TOKEN, id=row.id, single_use=row.single_use)

    def accept_mfa_token(
        self,
        uow: CoreUnit,
        ctx: AuthContext,
        token: str,
        approval_digest: str | None,
        *,
        while_devices: bool = False,
        while_passkeys: bool = False,
    ) -> CheckedToken | None:
        """:meth:`check_mfa_token` and :meth:`spend` in one conditional ``UPDATE … RETURNING`` (the
        gate's common case, issue 15): the token if it is a live MFA token of this session that
        :func:`~actionmfa.domain.tokens.check_mfa_token` would pass — spent now if single-use — and,
        with ``while_devices``/``while_passkeys``, only while the user has such a verified method.
        None otherwise, and then nothing was written: :meth:`check_mfa_token` tells why."""
        token_hash = self._presented_hash(token)
        if token_hash is None:
            return None
        accepted = uow.tokens.spend_mfa_token_of_session(
            token_hash,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            approval_digest=approval_digest,
            now=self.clock.now(),
            while_devices=while_devices,
            while_passkeys=while_passkeys,
        )
        if accepted is None:
            return None
        token_id, single_use = accepted
        return CheckedToken(kind=TokenKind.MFA_TOKEN, id=token_id, single_use=single_use)

    def _presented_hash(self, token: str) -> str | None:
        """The stored hash a presented MFA token would have; None if it cannot be one (empty, or
        longer than any token this server mints)."""
        if not token or len(token) > MAX_PRESENTED_TOKEN:
            return None
        return self.keyring.keyed_hash(token, purpose=MFA_TOKEN_PURPOSE)

    def spend(self, uow: CoreUnit, checked: CheckedToken) -> None:
        """Consume a single-use token: exactly one concurrent caller wins; the others are refused."""
        repo = uow.tokens
        now = self.clock.now()
        if checked.kind is TokenKind.MFA_TOKEN:
            if checked.single_use:
                if not repo.spend_mfa_token(checked.id, now):
                    raise TokenRefusal("spent")
            else:
                repo.touch_mfa_token(checked.id, now)
        elif checked.single_use and not repo.spend_elevated(checked.id, now):
            raise TokenRefusal("spent")

    # -- elevated tokens -----------------------------------------------------------------------
    def mint_elevated(
        self,
        uow: CoreUnit,
        ctx: AuthContext,
        scopes: tuple[str, ...],
        *,
        approval_digest: str | None = None,
        via: str,
    ) -> str:
        now = self.clock.now()
        grant = grant_for_scopes(ctx.settings.security.mfa, scopes)
        jti = random_token(18)
        claims = elevated_claims(
            grant,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            environment_id=ctx.environment.id,
            jti=jti,
            now=now,
            approval_digest=approval_digest,
        )
        claims["iss"] = ISSUER
        # ctx is the request's (its environment's version read with the session): the cached key holds
        kid, key = self.keys.signing_key(
            uow, ctx.environment.id, KeyPurpose.ELEVATED, now, version=ctx.environment.version
        )
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "elevated+jwt"})
        uow.tokens.add_elevated(
            jti=jti,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            scope=claims["scope"],
            single_use=grant.single_use,
            created_at=now,
            expires_at=now + timedelta(seconds=grant.ttl_seconds),
        )
        audit.record(
            uow,
            ctx,
            AuditEvent.ELEVATED_TOKEN_MINTED,
            now=now,
            outcome="ok",
            jti=jti,
            scope=claims["scope"],
            singleUse=grant.single_use,
            ttlSeconds=grant.ttl_seconds,
            via=via,
        )
        return token

    def check_elevated(
        self, uow: CoreUnit, ctx: AuthContext, token: str, scope: str, approval_digest: str | None
    ) -> CheckedToken:
        claims = self._decode(uow, ctx, token)
        now = self.clock.now()
        check_elevated_claims(
            claims,
            user_id=ctx.user.id,
            session_id=ctx.session.id,
            scope=scope,
            now=now,
            approval_digest=approval_digest,
        )
        row = uow.tokens.elevated(str(claims.get("jti", "")))
        if row is None:
            raise TokenRefusal("unknown")
        if row.s_revoked is not None or row.s_exp is None or row.s_exp <= now:
            raise TokenRefusal("session_ended")
        if row.single_use and row.used_at is not None:
            raise TokenRefusal("spent")
        return CheckedToken(kind=TokenKind.ELEVATED, id=row.jti, single_use=row.single_use)

    def _decode(self, uow: CoreUnit, ctx: AuthContext, token: str) -> dict[str, Any]:
        if not token or len(token) > 4096:
            raise TokenRefusal("unknown")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefusal("malformed") from None
        kid = header.get("kid")
        if header.get("alg") != "ES256" or not isinstance(kid, str):
            raise TokenRefusal("malformed")
        public = self.keys.verification_key(uow, kid, ctx.environment.id, KeyPurpose.ELEVATED)
        if public is None:
            raise TokenRefusal("unknown_key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=["ES256"],
                audience=ELEVATED_AUDIENCE,
                issuer=ISSUER,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["sub", "sid", "exp", "jti", "scope"],
                },
            )
        except jwt.PyJWTError:
            raise TokenRefusal("bad_signature") from None
        return claims
