"""Repository for passkeys and passkey ceremonies (tables in :mod:`actionmfa.store.passkey_tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from actionmfa.domain.records import ChallengeRow, PasskeyRow
from actionmfa.store.compiled import Statement
from actionmfa.store.passkey_tables import passkey_challenges as pc
from actionmfa.store.passkey_tables import passkeys as pk
from actionmfa.store.tables import users

# Passkey authentication's statements and the gate's count of a user's passkeys, compiled once per
# dialect (issue 15: store/compiled.py).
_COUNT_FOR_USER = Statement(select(func.count().label("n")).select_from(pk).where(pk.c.user_id == bindparam("uid")))
_BY_CREDENTIAL = Statement(
    select(pk).where(pk.c.environment_id == bindparam("eid"), pk.c.credential_id == bindparam("cid"))
)
_ADVANCE_COUNTER = Statement(
    update(pk)
    .where(pk.c.id == bindparam("pid"), pk.c.sign_count == bindparam("expected"), pk.c.possibly_cloned_at.is_(None))
    .values(
        sign_count=bindparam("new", type_=pk.c.sign_count.type),
        backed_up=bindparam("backed_up", type_=pk.c.backed_up.type),
        last_used_at=bindparam("now", type_=pk.c.last_used_at.type),
        updated_at=bindparam("now", type_=pk.c.updated_at.type),
    )
)
_SPEND_CHALLENGE = Statement(
    update(pc)
    .where(
        pc.c.challenge_hash == bindparam("h"),
        pc.c.environment_id == bindparam("eid"),
        pc.c.user_id == bindparam("uid"),
        pc.c.session_id == bindparam("sid"),
        pc.c.kind == bindparam("kind"),
        pc.c.used_at.is_(None),
    )
    .values(used_at=bindparam("now", type_=pc.c.used_at.type))
    .returning(*pc.c)
)

__all__ = ["ChallengeRow", "PasskeyRepo", "PasskeyRow"]


def _passkey(row: Row[Any]) -> PasskeyRow:
    return PasskeyRow(
        id=row.id,
        environment_id=row.environment_id,
        user_id=row.user_id,
        credential_id=row.credential_id,
        public_key=bytes(row.public_key),
        algorithm=row.algorithm,
        sign_count=int(row.sign_count),
        transports=tuple(row.transports or ()),
        aaguid=row.aaguid,
        backup_eligible=bool(row.backup_eligible),
        backed_up=bool(row.backed_up),
        alias=row.alias,
        origin=row.origin,
        user_agent=row.user_agent,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        possibly_cloned_at=row.possibly_cloned_at,
    )


def _challenge(row: Row[Any]) -> ChallengeRow:
    return ChallengeRow(
        id=row.id,
        environment_id=row.environment_id,
        user_id=row.user_id,
        session_id=row.session_id,
        kind=row.kind,
        options=dict(row.options),
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class PasskeyRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- credentials ----------------------------------------------------------------------------

    def add(self, **values: Any) -> bool:
        """Store a credential; False if its credential id is registered in the environment already
        (the unique index caught a registration another transaction committed meanwhile). Inside a
        savepoint, so the caller's transaction stays usable either way."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(pk).values(**values))
        except IntegrityError:
            return False
        return True

    def for_user(self, user_id: str) -> list[PasskeyRow]:
        rows = self.conn.execute(select(pk).where(pk.c.user_id == user_id).order_by(pk.c.created_at, pk.c.id))
        return [_passkey(r) for r in rows]

    def lock_user(self, user_id: str) -> None:
        """Serialise one user's registrations (PostgreSQL ``FOR UPDATE`` on the user's row; SQLite's
        ``BEGIN IMMEDIATE`` serialises writers already), so a count read after it stays true until
        the transaction ends."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())

    def count_for_user(self, user_id: str) -> int:
        row = _COUNT_FOR_USER.first(self.conn, {"uid": user_id})
        return int(row.n) if row is not None else 0

    def get(self, user_id: str, passkey_id: str) -> PasskeyRow | None:
        row = self.conn.execute(select(pk).where(pk.c.id == passkey_id, pk.c.user_id == user_id)).first()
        return _passkey(row) if row else None

    def by_credential(self, environment_id: str, credential_id: str) -> PasskeyRow | None:
        row = _BY_CREDENTIAL.first(self.conn, {"eid": environment_id, "cid": credential_id})
        return _passkey(row) if row else None

    def advance_counter(self, passkey_id: str, *, expected: int, new: int, backed_up: bool, now: datetime) -> bool:
        """Store the new counter only if nobody moved it meanwhile (two assertions racing)."""
        params = {"pid": passkey_id, "expected": expected, "new": new, "backed_up": backed_up, "now": now}
        return _ADVANCE_COUNTER.rowcount(self.conn, params) == 1

    def mark_possibly_cloned(self, passkey_id: str, now: datetime) -> None:
        self.conn.execute(
            update(pk)
            .where(pk.c.id == passkey_id, pk.c.possibly_cloned_at.is_(None))
            .values(possibly_cloned_at=now, updated_at=now)
        )

    def rename(self, user_id: str, passkey_id: str, alias: str | None, now: datetime) -> bool:
        result = self.conn.execute(
            update(pk).where(pk.c.id == passkey_id, pk.c.user_id == user_id).values(alias=alias, updated_at=now)
        )
        return result.rowcount == 1

    def delete(self, user_id: str, passkey_id: str) -> bool:
        result = self.conn.execute(delete(pk).where(pk.c.id == passkey_id, pk.c.user_id == user_id))
        return result.rowcount == 1

    def delete_for_user(self, user_id: str) -> int:
        return int(self.conn.execute(delete(pk).where(pk.c.user_id == user_id)).rowcount)

    # -- ceremonies -----------------------------------------------------------------------------

    def add_challenge(self, **values: Any) -> None:
        self.conn.execute(insert(pc).values(**values))

    def spend_challenge(
        self, *, challenge_hash: str, environment_id: str, user_id: str, session_id: str, kind: str, now: datetime
    ) -> ChallengeRow | None:
        """Mark the challenge used — one conditional UPDATE — and return it if this call spent it.

        Bound to user, session and ceremony kind: a challenge presented by another session, for
        the other ceremony, a second time, or after expiry is not spent here and returns None.
        """
        # UPDATE … RETURNING: the spend and the row in one statement (issue 15: round trips).
        row = _SPEND_CHALLENGE.first(
            self.conn,
            {"h": challenge_hash, "eid": environment_id, "uid": user_id, "sid": session_id, "kind": kind, "now": now},
        )
        return _challenge(row) if row else None

    def burn_challenge(self, challenge_hash: str, now: datetime) -> None:
        """Spend a challenge presented out of its binding, so that it cannot be tried again."""
        self.conn.execute(
            update(pc).where(pc.c.challenge_hash == challenge_hash, pc.c.used_at.is_(None)).values(used_at=now)
        )

    def open_ceremony(self, environment_id: str, ceremony_id: str, now: datetime) -> ChallengeRow | None:
        q = select(pc).where(
            pc.c.id == ceremony_id,
            pc.c.environment_id == environment_id,
            pc.c.used_at.is_(None),
            pc.c.expires_at > now,
        )
        row = self.conn.execute(q).first()
        return _challenge(row) if row else None

    def purge_challenges(self, before: datetime) -> None:
        self.conn.execute(delete(pc).where(pc.c.expires_at < before))
