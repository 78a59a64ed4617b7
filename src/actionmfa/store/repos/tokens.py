"""Storage for the gate's proofs: MFA tokens and elevated access tokens (tables in
:mod:`actionmfa.store.mfa_tables`).

Only keyed hashes of MFA tokens are stored, and one row per elevated token ``jti``. Spending a
single-use token is one conditional ``UPDATE … WHERE used_at IS NULL`` in the caller's write
transaction: exactly one concurrent caller sees rowcount 1, and a rolled-back action does not spend it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, exists, func, insert, or_, select, update

from actionmfa.domain.records import ElevatedTokenRow, MfaTokenRow
from actionmfa.store import mfa_tables as m
from actionmfa.store import tables as t
from actionmfa.store.compiled import Statement
from actionmfa.store.passkey_tables import passkeys as pk

# The hot path's statements, compiled once per dialect (issue 15: store/compiled.py).
_ADD_MFA_TOKEN = Statement(
    insert(m.mfa_tokens),
    keys=("id", "token_hash", "user_id", "session_id", "single_use", "approval_digest", "created_at"),
)
_MFA_TOKEN = Statement(
    select(m.mfa_tokens, t.sessions.c.revoked_at.label("s_revoked"), t.sessions.c.expires_at.label("s_exp"))
    .select_from(m.mfa_tokens.outerjoin(t.sessions, t.sessions.c.id == m.mfa_tokens.c.session_id))
    .where(m.mfa_tokens.c.token_hash == bindparam("h"))
)
_SPEND_MFA_TOKEN = Statement(
    update(m.mfa_tokens)
    .where(m.mfa_tokens.c.id == bindparam("tid"), m.mfa_tokens.c.used_at.is_(None))
    .values(used_at=bindparam("now", type_=m.mfa_tokens.c.used_at.type))
)



def _spend_of_session(devices: bool, passkeys: bool) -> Statement:
    """``UPDATE mfa_tokens … RETURNING``: the token with this hash, of this user and session, whose
    session is live, bound to no digest or to this one, single-use and unspent or persistent — and,
    if ``devices``/``passkeys``, only while the user has a verified TOTP device / a passkey (either
    counts). Single-use: ``used_at`` set (the spend); persistent: its first use recorded."""
    tok, s = m.mfa_tokens.c, t.sessions.c
    now = bindparam("now", type_=tok.used_at.type)
    conditions = [
        tok.token_hash == bindparam("h"),
        tok.user_id == bindparam("uid"),
        tok.session_id == bindparam("sid"),
        or_(tok.used_at.is_(None), tok.single_use.is_(False)),
        or_(tok.approval_digest.is_(None), tok.approval_digest == bindparam("digest")),
        exists().where(s.id == tok.session_id, s.revoked_at.is_(None), s.expires_at > now),
    ]
    methods = []
    if devices:
        d = m.mfa_devices.c
        methods.append(exists().where(d.user_id == tok.user_id, d.verified.is_(True)))
    if passkeys:
        methods.append(exists().where(pk.c.user_id == tok.user_id))
    if methods:
        conditions.append(or_(*methods))
    return Statement(
        update(m.mfa_tokens)
        .where(*conditions)
        .values(used_at=func.coalesce(tok.used_at, now))
        .returning(tok.id, tok.single_use)
    )


# (devices, passkeys) → the statement (see _spend_of_session); (False, False): no method condition.
_SPEND_OF_SESSION = {(d, p): _spend_of_session(d, p) for d in (False, True) for p in (False, True)}


class TokenRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- MFA tokens ----------------------------------------------------------------------------
    def add_mfa_token(
        self,
        *,
        id: str,
        token_hash: str,
        user_id: str,
        session_id: str,
        single_use: bool,
        approval_digest: str | None,
        created_at: datetime,
    ) -> None:
        _ADD_MFA_TOKEN.run(
            self.conn,
            {
                "id": id,
                "token_hash": token_hash,
                "user_id": user_id,
                "session_id": session_id,
                "single_use": single_use,
                "approval_digest": approval_digest,
                "created_at": created_at,
            },
        )

    def mfa_token(self, token_hash: str) -> MfaTokenRow | None:
        """The token joined with its session's liveness inputs."""
        row = _MFA_TOKEN.first(self.conn, {"h": token_hash})
        if row is None:
            return None
        return MfaTokenRow(
            id=row.id,
            user_id=row.user_id,
            session_id=row.session_id,
            single_use=bool(row.single_use),
            approval_digest=row.approval_digest,
            used_at=row.used_at,
            s_revoked=row.s_revoked,
            s_exp=row.s_exp,
        )

    def spend_mfa_token(self, token_id: str, now: datetime) -> bool:
        return _SPEND_MFA_TOKEN.rowcount(self.conn, {"tid": token_id, "now": now}) == 1

    def spend_mfa_token_of_session(
        self,
        token_hash: str,
        *,
        user_id: str,
        session_id: str,
        approval_digest: str | None,
        now: datetime,
        while_devices: bool = False,
        while_passkeys: bool = False,
    ) -> tuple[str, bool] | None:
        """Accept a presented MFA token in one statement (see :func:`_spend_of_session`): its
        ``(id, single_use)`` if it was accepted (a single-use one is spent by this call: exactly one
        concurrent caller gets it), None if not — and then nothing was written; why is for
        :meth:`mfa_token` to tell."""
        row = _SPEND_OF_SESSION[while_devices, while_passkeys].first(
            self.conn,
            {"h": token_hash, "uid": user_id, "sid": session_id, "digest": approval_digest, "now": now},
        )
        return None if row is None else (str(row.id), bool(row.single_use))

    def touch_mfa_token(self, token_id: str, now: datetime) -> None:
        """Persistent tokens record their first use (informational; they stay valid)."""
        self.conn.execute(
            update(m.mfa_tokens)
            .where(m.mfa_tokens.c.id == token_id, m.mfa_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )

    # -- elevated tokens -----------------------------------------------------------------------
    def add_elevated(
        self,
        *,
        jti: str,
        user_id: str,
        session_id: str,
        scope: str,
        single_use: bool,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.conn.execute(
            insert(m.elevated_tokens).values(
                jti=jti,
                user_id=user_id,
                session_id=session_id,
                scope=scope,
                single_use=single_use,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def elevated(self, jti: str) -> ElevatedTokenRow | None:
        q = (
            select(
                m.elevated_tokens, t.sessions.c.revoked_at.label("s_revoked"), t.sessions.c.expires_at.label("s_exp")
            )
            .select_from(m.elevated_tokens.outerjoin(t.sessions, t.sessions.c.id == m.elevated_tokens.c.session_id))
            .where(m.elevated_tokens.c.jti == jti)
        )
        row = self.conn.execute(q).first()
        if row is None:
            return None
        return ElevatedTokenRow(
            jti=row.jti,
            user_id=row.user_id,
            session_id=row.session_id,
            scope=row.scope,
            single_use=bool(row.single_use),
            expires_at=row.expires_at,
            used_at=row.used_at,
            s_revoked=row.s_revoked,
            s_exp=row.s_exp,
        )

    def spend_elevated(self, jti: str, now: datetime) -> bool:
        result = self.conn.execute(
            update(m.elevated_tokens)
            .where(m.elevated_tokens.c.jti == jti, m.elevated_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    def purge_session_tokens(self, session_id: str, now: datetime) -> None:
        """Housekeeping on mint: this session's expired elevated tokens and spent single-use MFA tokens
        can never be accepted again (both deletes use the session index)."""
        self.conn.execute(
            delete(m.elevated_tokens).where(
                m.elevated_tokens.c.session_id == session_id, m.elevated_tokens.c.expires_at < now
            )
        )
        self.conn.execute(
            delete(m.mfa_tokens).where(
                m.mfa_tokens.c.session_id == session_id,
                m.mfa_tokens.c.single_use.is_(True),
                m.mfa_tokens.c.used_at.is_not(None),
            )
        )

    def purge_expired(self, now: datetime) -> int:
        """The janitor's sweep: tokens that can never be accepted again — expired elevated tokens,
        spent single-use MFA tokens, and every token of a session that ended (revoked or expired)."""
        ended = select(t.sessions.c.id).where((t.sessions.c.revoked_at.is_not(None)) | (t.sessions.c.expires_at < now))
        removed = self.conn.execute(delete(m.elevated_tokens).where(m.elevated_tokens.c.expires_at < now)).rowcount
        removed += self.conn.execute(
            delete(m.mfa_tokens).where(
                (m.mfa_tokens.c.single_use.is_(True) & m.mfa_tokens.c.used_at.is_not(None))
                | m.mfa_tokens.c.session_id.in_(ended)
            )
        ).rowcount
        removed += self.conn.execute(
            delete(m.elevated_tokens).where(m.elevated_tokens.c.session_id.in_(ended))
        ).rowcount
        return int(removed or 0)
