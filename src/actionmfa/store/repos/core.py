"""Repositories for the foundation tables. Each takes the unit of work's connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from actionmfa.domain.actions import SessionScope
from actionmfa.domain.models import Environment, Session, User
from actionmfa.domain.records import AdminTokenRow, EmailVerificationRow, SigningKeyRow
from actionmfa.domain.settings import STORED_CONTEXT, EnvironmentSettings
from actionmfa.store import tables as t
from actionmfa.store.compiled import Statement


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn


def _environment(row: Row[Any]) -> Environment:
    return Environment(
        id=row.id,
        name=row.name,
        settings=EnvironmentSettings.model_validate(row.settings, context=STORED_CONTEXT),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=int(row.version),
    )


def _bump_version(conn: Connection, environment_id: str) -> None:
    e = t.environments
    conn.execute(update(e).where(e.c.id == environment_id).values(version=e.c.version + 1))


class EnvironmentRepo(_Repo):
    def add(self, *, id: str, name: str, settings: EnvironmentSettings, now: datetime) -> Environment:
        self.conn.execute(
            insert(t.environments).values(
                id=id, name=name, settings=settings.model_dump(mode="json"), created_at=now, updated_at=now
            )
        )
        return Environment(id=id, name=name, settings=settings, created_at=now, updated_at=now)

    def get(self, environment_id: str) -> Environment | None:
        row = self.conn.execute(select(t.environments).where(t.environments.c.id == environment_id)).first()
        return _environment(row) if row else None

    def update(
        self, environment_id: str, *, name: str | None, settings: EnvironmentSettings | None, now: datetime
    ) -> None:
        values: dict[str, Any] = {"updated_at": now, "version": t.environments.c.version + 1}
        if name is not None:
            values["name"] = name
        if settings is not None:
            values["settings"] = settings.model_dump(mode="json")
        self.conn.execute(update(t.environments).where(t.environments.c.id == environment_id).values(**values))

    def list(self) -> list[Environment]:
        rows = self.conn.execute(select(t.environments).order_by(t.environments.c.created_at)).all()
        return [_environment(r) for r in rows]

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.environments)).scalar_one())


class AdminTokenRepo(_Repo):
    def add(self, *, id: str, environment_id: str | None, token_hash: str, now: datetime) -> None:
        self.conn.execute(
            insert(t.admin_tokens).values(id=id, environment_id=environment_id, token_hash=token_hash, created_at=now)
        )

    def find_active(self, token_hash: str) -> AdminTokenRow | None:
        row = self.conn.execute(
            select(t.admin_tokens.c.id, t.admin_tokens.c.environment_id).where(
                t.admin_tokens.c.token_hash == token_hash, t.admin_tokens.c.revoked_at.is_(None)
            )
        ).first()
        return AdminTokenRow(row.id, row.environment_id) if row else None

    def revoke(self, token_id: str, now: datetime) -> None:
        self.conn.execute(update(t.admin_tokens).where(t.admin_tokens.c.id == token_id).values(revoked_at=now))

    def revoke_for_environment(self, environment_id: str, now: datetime) -> None:
        self.conn.execute(
            update(t.admin_tokens)
            .where(t.admin_tokens.c.environment_id == environment_id, t.admin_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def _signing_key(row: Row[Any]) -> SigningKeyRow:
    return SigningKeyRow(
        kid=row.kid,
        environment_id=row.environment_id,
        purpose=row.purpose,
        private_key=row.private_key,
        public_jwk=row.public_jwk,
        active=bool(row.active),
        created_at=row.created_at,
        retired_at=row.retired_at,
    )


class SigningKeyRepo(_Repo):
    def add(
        self,
        *,
        kid: str,
        environment_id: str,
        purpose: str,
        private_key: str,
        public_jwk: dict[str, Any],
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(t.signing_keys).values(
                kid=kid,
                environment_id=environment_id,
                purpose=purpose,
                private_key=private_key,
                public_jwk=public_jwk,
                active=True,
                created_at=now,
            )
        )
        _bump_version(self.conn, environment_id)  # every worker's key cache sees the new key

    def retire_active(self, environment_id: str, purpose: str, now: datetime) -> None:
        self.conn.execute(
            update(t.signing_keys)
            .where(
                t.signing_keys.c.environment_id == environment_id,
                t.signing_keys.c.purpose == purpose,
                t.signing_keys.c.active.is_(True),
            )
            .values(active=False, retired_at=now)
        )
        _bump_version(self.conn, environment_id)

    def active(self, environment_id: str, purpose: str) -> SigningKeyRow | None:
        row = self.conn.execute(
            select(t.signing_keys)
            .where(
                t.signing_keys.c.environment_id == environment_id,
                t.signing_keys.c.purpose == purpose,
                t.signing_keys.c.active.is_(True),
            )
            .order_by(t.signing_keys.c.created_at.desc())
        ).first()
        return _signing_key(row) if row else None

    def verifiable(self, environment_id: str, purpose: str, not_retired_before: datetime) -> list[SigningKeyRow]:
        """Active keys plus keys retired recently enough that tokens they signed may still live."""
        rows = self.conn.execute(
            select(t.signing_keys).where(
                t.signing_keys.c.environment_id == environment_id, t.signing_keys.c.purpose == purpose
            )
        ).all()
        return [_signing_key(r) for r in rows if r.active or (r.retired_at and r.retired_at >= not_retired_before)]

    def get(self, kid: str) -> SigningKeyRow | None:
        row = self.conn.execute(select(t.signing_keys).where(t.signing_keys.c.kid == kid)).first()
        return _signing_key(row) if row else None

    def all(self) -> list[SigningKeyRow]:
        return [_signing_key(r) for r in self.conn.execute(select(t.signing_keys)).all()]

    def set_private_key(self, kid: str, sealed: str) -> None:
        self.conn.execute(update(t.signing_keys).where(t.signing_keys.c.kid == kid).values(private_key=sealed))


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        environment_id=row.environment_id,
        email=row.email,
        external_id=row.external_id,
        alias=row.alias,
        first_name=row.first_name,
        last_name=row.last_name,
        metadata=row.metadata,
        mfa_backup_code_ack=row.mfa_backup_code_ack,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class UserRepo(_Repo):
    def add(self, *, id: str, environment_id: str, email: str | None, external_id: str | None, now: datetime) -> User:
        self.conn.execute(
            insert(t.users).values(
                id=id,
                environment_id=environment_id,
                email=email,
                external_id=external_id,
                created_at=now,
                updated_at=now,
            )
        )
        user = self.get(environment_id, id)
        assert user is not None  # noqa: S101 - just inserted in this transaction
        return user

    def add_unique(
        self, *, id: str, environment_id: str, email: str | None, external_id: str | None, now: datetime
    ) -> User | None:
        """:meth:`add` inside a savepoint; None (and the transaction still usable) if another
        transaction committed a user with this email or external id first."""
        try:
            with self.conn.begin_nested():
                return self.add(id=id, environment_id=environment_id, email=email, external_id=external_id, now=now)
        except IntegrityError:
            return None

    def get(self, environment_id: str, user_id: str) -> User | None:
        row = self.conn.execute(
            select(t.users).where(t.users.c.id == user_id, t.users.c.environment_id == environment_id)
        ).first()
        return _user(row) if row else None

    def environment_of(self, user_id: str) -> str | None:
        """The environment a user id belongs to (any environment), or None for an unknown id."""
        value = self.conn.execute(select(t.users.c.environment_id).where(t.users.c.id == user_id)).scalar()
        return None if value is None else str(value)

    def by_email(self, environment_id: str, email: str) -> User | None:
        row = self.conn.execute(
            select(t.users).where(t.users.c.environment_id == environment_id, t.users.c.email == email)
        ).first()
        return _user(row) if row else None

    def by_external_id(self, environment_id: str, external_id: str) -> User | None:
        row = self.conn.execute(
            select(t.users).where(t.users.c.environment_id == environment_id, t.users.c.external_id == external_id)
        ).first()
        return _user(row) if row else None

    def update(self, user_id: str, now: datetime, **values: Any) -> None:
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(updated_at=now, **values))

    def update_returning(self, environment_id: str, user_id: str, now: datetime, **values: Any) -> User | None:
        """:meth:`update` that answers the updated user (one ``UPDATE … RETURNING``, no re-read)."""
        params = {f"v_{k}": v for k, v in values.items()}
        row = _update_returning(tuple(sorted(values))).first(
            self.conn, {"p_uid": user_id, "p_env": environment_id, "v_updated_at": now, **params}
        )
        return _user(row) if row else None

    def list(self, environment_id: str, *, limit: int = 100, after_id: str | None = None) -> list[User]:
        q = select(t.users).where(t.users.c.environment_id == environment_id)
        if after_id:
            q = q.where(t.users.c.id > after_id)
        rows = self.conn.execute(q.order_by(t.users.c.id).limit(limit)).all()
        return [_user(r) for r in rows]


_UPDATE_RETURNING: dict[tuple[str, ...], Statement] = {}


def _update_returning(columns: tuple[str, ...]) -> Statement:
    """``UPDATE users … RETURNING *`` for this set of columns, built once per set (``PUT /users``
    sends a handful of them; issue 15: building the statement per call cost more than running it)."""
    stmt = _UPDATE_RETURNING.get(columns)
    if stmt is None:
        stmt = Statement(
            update(t.users)
            .where(t.users.c.id == bindparam("p_uid"), t.users.c.environment_id == bindparam("p_env"))
            .values({
                t.users.c[name]: bindparam(f"v_{name}", type_=t.users.c[name].type)  # the column's own conversions
                for name in ("updated_at", *columns)
            })
            .returning(*t.users.c)
        )
        _UPDATE_RETURNING[columns] = stmt
    return stmt


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        environment_id=row.environment_id,
        user_id=row.user_id,
        scope=SessionScope(row.scope),
        auth_method=row.auth_method,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


_SESSION_WITH_USER = Statement(
    select(
        *[c.label(f"s_{c.name}") for c in t.sessions.c],
        *[c.label(f"u_{c.name}") for c in t.users.c],
        t.environments.c.version.label("e_version"),
    )
    .join_from(t.sessions, t.users, t.users.c.id == t.sessions.c.user_id)
    .join(t.environments, t.environments.c.id == t.sessions.c.environment_id)
    .where(t.sessions.c.id == bindparam("sid"), t.users.c.environment_id == t.sessions.c.environment_id)
)


class SessionRepo(_Repo):
    def add(
        self,
        *,
        id: str,
        environment_id: str,
        user_id: str,
        scope: SessionScope,
        auth_method: str,
        now: datetime,
        expires_at: datetime,
    ) -> Session:
        self.conn.execute(
            insert(t.sessions).values(
                id=id,
                environment_id=environment_id,
                user_id=user_id,
                scope=scope.value,
                auth_method=auth_method,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return Session(id, environment_id, user_id, scope, auth_method, now, expires_at, None)

    def get(self, session_id: str) -> Session | None:
        row = self.conn.execute(select(t.sessions).where(t.sessions.c.id == session_id)).first()
        return _session(row) if row else None

    def with_user_and_environment(self, session_id: str) -> tuple[Session, User, Environment] | None:
        """The session, its user and environment (two queries; see :meth:`with_user`)."""
        loaded = self.with_user(session_id)
        if loaded is None:
            return None
        session, user, environment_id, _version = loaded
        env = EnvironmentRepo(self.conn).get(environment_id)
        return (session, user, env) if env is not None else None

    def with_user(self, session_id: str) -> tuple[Session, User, str, int] | None:
        """The session, its user, and its environment's id and version, in one query (every
        authenticated request); the environment itself comes from the caller's cache while its
        version is unchanged."""
        row = _SESSION_WITH_USER.first(self.conn, {"sid": session_id})
        if row is None:
            return None
        return (
            Session(
                row.s_id,
                row.s_environment_id,
                row.s_user_id,
                SessionScope(row.s_scope),
                row.s_auth_method,
                row.s_created_at,
                row.s_expires_at,
                row.s_revoked_at,
            ),
            User(
                id=row.u_id,
                environment_id=row.u_environment_id,
                email=row.u_email,
                external_id=row.u_external_id,
                alias=row.u_alias,
                first_name=row.u_first_name,
                last_name=row.u_last_name,
                metadata=row.u_metadata,
                mfa_backup_code_ack=row.u_mfa_backup_code_ack,
                created_at=row.u_created_at,
                updated_at=row.u_updated_at,
            ),
            row.s_environment_id,
            int(row.e_version),
        )

    def set_scope(self, session_id: str, scope: SessionScope) -> None:
        self.conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(scope=scope.value))

    def extend(self, session_id: str, expires_at: datetime) -> None:
        self.conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(expires_at=expires_at))

    def revoke(self, session_id: str, now: datetime) -> bool:
        result = self.conn.execute(
            update(t.sessions)
            .where(t.sessions.c.id == session_id, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    def revoke_for_user(self, user_id: str, now: datetime) -> None:
        self.conn.execute(
            update(t.sessions)
            .where(t.sessions.c.user_id == user_id, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class EmailVerificationRepo(_Repo):
    def add(
        self, *, id: str, environment_id: str, email: str, code_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            insert(t.email_verifications).values(
                id=id,
                environment_id=environment_id,
                email=email,
                code_hash=code_hash,
                attempts=0,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def get(self, environment_id: str, verification_id: str) -> EmailVerificationRow | None:
        row = self.conn.execute(
            select(t.email_verifications).where(
                t.email_verifications.c.id == verification_id,
                t.email_verifications.c.environment_id == environment_id,
            )
        ).first()
        if row is None:
            return None
        return EmailVerificationRow(
            id=row.id,
            environment_id=row.environment_id,
            email=row.email,
            code_hash=row.code_hash,
            attempts=int(row.attempts),
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
        )

    def count_attempt(self, verification_id: str) -> None:
        self.conn.execute(
            update(t.email_verifications)
            .where(t.email_verifications.c.id == verification_id)
            .values(attempts=t.email_verifications.c.attempts + 1)
        )

    def mark_used(self, verification_id: str, now: datetime) -> bool:
        """Spend the code: true only for the one caller whose conditional update hit the row."""
        result = self.conn.execute(
            update(t.email_verifications)
            .where(t.email_verifications.c.id == verification_id, t.email_verifications.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    def take_attempt(self, verification_id: str, max_attempts: int) -> bool:
        """Reserve one try before the code is compared: one conditional UPDATE, so N concurrent
        guesses against one verification (on any number of workers) get at most ``max_attempts``."""
        c = t.email_verifications.c
        result = self.conn.execute(
            update(t.email_verifications)
            .where(c.id == verification_id, c.used_at.is_(None), c.attempts < max_attempts)
            .values(attempts=c.attempts + 1)
        )
        return result.rowcount == 1

    def purge_expired(self, before: datetime) -> int:
        """The janitor's sweep: every verification that expired before ``before``."""
        c = t.email_verifications.c
        return int(self.conn.execute(delete(t.email_verifications).where(c.expires_at < before)).rowcount or 0)

    def purge_for_email(self, environment_id: str, email: str, expired_before: datetime) -> int:
        """Drop this address's verifications that expired before ``expired_before`` (housekeeping
        on the address's next request; they can no longer sign in nor count toward a limit)."""
        c = t.email_verifications.c
        result = self.conn.execute(
            delete(t.email_verifications).where(
                c.environment_id == environment_id, c.email == email, c.expires_at < expired_before
            )
        )
        return int(result.rowcount)
