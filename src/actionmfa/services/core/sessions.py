"""Sessions and their ES256 JWTs (DESIGN §3 "Session").

A session row is the truth: the JWT names it (``sid``) and every request re-reads the row, so
``logout`` takes effect at once and a stolen JWT dies with its session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from actionmfa.clock import Clock, to_epoch
from actionmfa.domain.actions import SessionScope
from actionmfa.domain.models import AuthContext, Environment, RequestMeta, Session, User
from actionmfa.errors import UnauthorizedError
from actionmfa.services.core.envcache import EnvironmentCache
from actionmfa.services.core.jws import split as jwt_parts
from actionmfa.services.core.jws import verify_es256
from actionmfa.services.core.keys import KeyPurpose, SigningKeys
from actionmfa.services.core.ports import CoreUnit

ISSUER = "actionmfa"


@dataclass(frozen=True, slots=True)
class PresentedSession:
    """A session JWT whose signature and claims this request checked, before any transaction; its
    session row is read in the transaction of the request's use case (:meth:`SessionService.load`):
    one transaction and one thread hop per MFA authentication instead of two (issue 15)."""

    environment_id: str
    session_id: str
    user_id: str
    meta: RequestMeta


# Who a use case runs for: a session already loaded, or one to load in the use case's transaction.
Caller = AuthContext | PresentedSession


@dataclass(frozen=True)
class IssuedSession:
    session: Session
    user: User
    jwt: str
    expires_at: int  # unix seconds


class SessionToSign:
    """A session JWT's claims and key, signed on first :meth:`issued` (then kept)."""

    __slots__ = ("_claims", "_issued", "_key", "_kid", "session", "user")

    def __init__(
        self, session: Session, user: User, kid: str, key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]
    ) -> None:
        self.session = session
        self.user = user
        self._kid = kid
        self._key = key
        self._claims = claims
        self._issued: IssuedSession | None = None

    def issued(self) -> IssuedSession:
        if self._issued is None:
            token = jwt.encode(self._claims, self._key, algorithm="ES256", headers={"kid": self._kid})
            self._issued = IssuedSession(self.session, self.user, token, to_epoch(self.session.expires_at))
        return self._issued


# Session JWTs whose signature this process verified, per environment: a client presents the same
# JWT on every request until it is re-issued, and the ES256 verify is most of the check's CPU.
# Only verified tokens enter, compared as whole strings; the claims are checked again on every use
# (environment, expiry) and the session row is read as before. Cleared when full.
VERIFIED_CACHE_SIZE = 4096


class SessionService:
    def __init__(self, keys: SigningKeys, clock: Clock, environments: EnvironmentCache | None = None) -> None:
        self.keys = keys
        self.clock = clock
        self.environments = environments or EnvironmentCache()
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}  # (environment id, token) → claims

    def start(
        self,
        uow: CoreUnit,
        env: Environment,
        user: User,
        *,
        auth_method: str,
        scope: SessionScope = SessionScope.USER_BASIC,
    ) -> IssuedSession:
        now = self.clock.now()
        expires = now + timedelta(seconds=env.settings.security.jwtDuration.seconds())
        session = uow.sessions.add(
            id=str(uuid.uuid4()),
            environment_id=env.id,
            user_id=user.id,
            scope=scope,
            auth_method=auth_method,
            now=now,
            expires_at=expires,
        )
        return self.issue(uow, env, session, user)

    def issue(
        self, uow: CoreUnit, env: Environment, session: Session, user: User, *, env_checked: bool = False
    ) -> IssuedSession:
        """(Re-)issue the JWT of an existing session with the session's current scope.

        ``env_checked``: ``env`` is this request's, its version read by :meth:`authenticate` (an
        ``AuthContext``'s), so the active key may come from the cache checked against that version."""
        return self.to_sign(uow, env, session, user, env_checked=env_checked).issued()

    def to_sign(
        self, uow: CoreUnit, env: Environment, session: Session, user: User, *, env_checked: bool = False
    ) -> SessionToSign:
        """:meth:`issue` with the signing left for later (:meth:`SessionToSign.issued`): the key is
        looked up in this transaction, the ES256 signature made once it has committed — CPU the
        SQLite writer lock need not be held for (issue 15)."""
        now = self.clock.now()
        version = env.version if env_checked else None
        kid, key = self.keys.signing_key(uow, env.id, KeyPurpose.SESSION, now, version=version)
        claims = {
            "iss": ISSUER,
            "sub": user.id,
            "sid": session.id,
            "environment_id": env.id,
            "scope": session.scope.value,
            "iat": to_epoch(now),
            "exp": to_epoch(session.expires_at),
        }
        return SessionToSign(session, user, kid, key, claims)

    def refresh(self, uow: CoreUnit, ctx: AuthContext) -> IssuedSession:
        """Extend the session by one lifetime from now and issue a new JWT."""
        now = self.clock.now()
        expires = now + timedelta(seconds=ctx.settings.security.jwtDuration.seconds())
        uow.sessions.extend(ctx.session.id, expires)
        session = uow.sessions.get(ctx.session.id)
        assert session is not None  # noqa: S101
        return self.issue(uow, ctx.environment, session, ctx.user)

    def authenticate(
        self, uow: CoreUnit, environment_id: str, token: str, meta: RequestMeta | None = None
    ) -> AuthContext:
        """Verify a bearer JWT for this environment and load the live session; 401 otherwise."""
        return self.load(uow, self.verify(uow, environment_id, token, meta))

    def verify(
        self, uow: CoreUnit | None, environment_id: str, token: str, meta: RequestMeta | None = None
    ) -> PresentedSession:
        """Check a bearer JWT's signature and claims for this environment (no session row yet:
        :meth:`load`); 401 otherwise. ``uow`` None: only from the keys this process has cached
        (:meth:`needs_key` says whether that suffices); no transaction is opened for it."""
        cached = self._verified.get((environment_id, token))
        claims = cached if cached is not None else self._signed_claims(uow, environment_id, token)
        if claims.get("environment_id") != environment_id or int(claims["exp"]) <= to_epoch(self.clock.now()):
            raise UnauthorizedError("Session expired or not for this environment")
        if cached is None:  # only JWTs that passed every check are kept
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[(environment_id, token)] = claims
        return PresentedSession(environment_id, str(claims["sid"]), claims["sub"], meta or RequestMeta())

    def _signed_claims(self, uow: CoreUnit | None, environment_id: str, token: str) -> dict[str, Any]:
        """The claims of a session JWT signed by this environment's session key; 401 otherwise."""
        jws = jwt_parts(token)
        if jws is None:
            raise UnauthorizedError("Invalid session token")
        kid = jws.header.get("kid")
        if not isinstance(kid, str):
            raise UnauthorizedError("Invalid session token")
        public = (
            self.keys.cached_verification_key(kid, environment_id, KeyPurpose.SESSION)
            if uow is None
            else self.keys.verification_key(uow, kid, environment_id, KeyPurpose.SESSION)
        )
        if public is None:
            raise UnauthorizedError("Invalid session token")
        claims = verify_es256(jws, public)
        # Like PyJWT's decode with issuer=ISSUER and no audience: an ``aud`` claim is refused (a
        # session JWT never carries one), ``sub``, ``sid`` and ``exp`` are required.
        if (
            claims is None
            or claims.get("iss") != ISSUER
            or "aud" in claims
            or not all(name in claims for name in ("sub", "sid", "exp"))
            or not isinstance(claims["sub"], str)
        ):
            raise UnauthorizedError("Invalid session token")
        return claims

    def needs_key(self, environment_id: str, token: str) -> bool:
        """True if verifying ``token`` needs a key this process has not cached (a transaction)."""
        if (environment_id, token) in self._verified:
            return False
        jws = jwt_parts(token)
        kid = jws.header.get("kid") if jws is not None else None
        return isinstance(kid, str) and not self.keys.has_verification_key(kid)

    def load(self, uow: CoreUnit, presented: PresentedSession) -> AuthContext:
        """The live session a verified JWT names, read in the caller's transaction; 401 if it was
        revoked, has expired, or is not the JWT's (user, environment)."""
        loaded = uow.sessions.with_user(presented.session_id)
        if loaded is None:
            raise UnauthorizedError("Session expired or revoked")
        session, user, env_id, version = loaded
        env = self.environments.get(uow, env_id, version)
        if env is None:
            raise UnauthorizedError("Session expired or revoked")
        if (
            session.user_id != presented.user_id
            or session.environment_id != presented.environment_id
            or not session.active_at(self.clock.now())
        ):
            raise UnauthorizedError("Session expired or revoked")
        return AuthContext(environment=env, user=user, session=session, meta=presented.meta)

    def context(self, uow: CoreUnit, caller: Caller) -> AuthContext:
        """The caller's :class:`AuthContext`: as given, or loaded now for a :class:`PresentedSession`."""
        return caller if isinstance(caller, AuthContext) else self.load(uow, caller)

    def logout(self, uow: CoreUnit, ctx: AuthContext) -> None:
        uow.sessions.revoke(ctx.session.id, self.clock.now())
