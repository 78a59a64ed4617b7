"""Sessions and their ES256 JWTs (DESIGN §3 "Session").

A session row is the truth: the JWT names it (``sid``) and every request re-reads the row, so
``logout`` takes effect at once and a stolen JWT dies with its session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from actionmfa.clock import Clock, to_epoch
from actionmfa.domain.actions import SessionScope
from actionmfa.domain.models import AuthContext, Environment, RequestMeta, Session, User
from actionmfa.errors import UnauthorizedError
from actionmfa.services.core.envcache import EnvironmentCache
from actionmfa.services.core.keys import KeyPurpose, SigningKeys
from actionmfa.services.core.ports import CoreUnit

ISSUER = "actionmfa"


@dataclass(frozen=True)
class IssuedSession:
    session: Session
    user: User
    jwt: str
    expires_at: int  # unix seconds


class SessionService:
    def __init__(self, keys: SigningKeys, clock: Clock, environments: EnvironmentCache | None = None) -> None:
        self.keys = keys
        self.clock = clock
        self.environments = environments or EnvironmentCache()

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
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
        return IssuedSession(session=session, user=user, jwt=token, expires_at=to_epoch(session.expires_at))

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
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthorizedError("Invalid session token") from None
        kid = header.get("kid")
        if header.get("alg") != "ES256" or not isinstance(kid, str):
            raise UnauthorizedError("Invalid session token")
        public = self.keys.verification_key(uow, kid, environment_id, KeyPurpose.SESSION)
        if public is None:
            raise UnauthorizedError("Invalid session token")
        try:
            claims = jwt.decode(
                token,
                public,
                algorithms=["ES256"],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "sid", "exp"]},
            )
        except jwt.PyJWTError:
            raise UnauthorizedError("Invalid session token") from None
        now = self.clock.now()
        if claims.get("environment_id") != environment_id or int(claims["exp"]) <= to_epoch(now):
            raise UnauthorizedError("Session expired or not for this environment")
        loaded = uow.sessions.with_user(str(claims["sid"]))
        if loaded is None:
            raise UnauthorizedError("Session expired or revoked")
        session, user, env_id, version = loaded
        env = self.environments.get(uow, env_id, version)
        if env is None:
            raise UnauthorizedError("Session expired or revoked")
        if session.user_id != claims["sub"] or session.environment_id != environment_id or not session.active_at(now):
            raise UnauthorizedError("Session expired or revoked")
        return AuthContext(environment=env, user=user, session=session, meta=meta or RequestMeta())

    def logout(self, uow: CoreUnit, ctx: AuthContext) -> None:
        uow.sessions.revoke(ctx.session.id, self.clock.now())
