"""The driver-direct statements (store/compiled.py) behave as ``Connection.execute`` of the same
statement does, on SQLite and PostgreSQL: same rows and types, same exceptions, every statement
seen by the ``before_cursor_execute`` listeners, never outside a transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from actionmfa.services.core import audit
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from actionmfa.store import tables as t
from actionmfa.store.compiled import Statement
from actionmfa.store.statements import counting
from tests.conftest import make_environment, sign_in

_SESSION = Statement(select(t.sessions).where(t.sessions.c.id == bindparam("sid")))
_ENVIRONMENT = Statement(select(t.environments).where(t.environments.c.id == bindparam("eid")))
_AUDIT = Statement(select(m.audit_log).where(m.audit_log.c.environment_id == bindparam("eid")))
_ADD_TOKEN = Statement(
    insert(m.mfa_tokens),
    keys=("id", "token_hash", "user_id", "session_id", "single_use", "approval_digest", "created_at"),
)


def test_rows_match_sqlalchemy(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    with runtime_any.db.write() as uow:  # an audit row: JSON details, chain columns
        audit.record(uow, audit.AuditIds(env.id, user_id="u"), audit.AuditEvent.KEYS_ROTATED,
                     now=datetime.now(UTC), outcome="ok", nested={"a": [1, "é"]})
    with runtime_any.db.read() as uow:
        sid = runtime_any.sessions.authenticate(uow, env.id, user.jwt).session.id
        for stmt, params, core in (
            (_SESSION, {"sid": sid}, select(t.sessions).where(t.sessions.c.id == sid)),
            (_ENVIRONMENT, {"eid": env.id}, select(t.environments).where(t.environments.c.id == env.id)),
            (_AUDIT, {"eid": env.id}, select(m.audit_log).where(m.audit_log.c.environment_id == env.id)),
        ):
            ours = stmt.rows(uow.conn, params)
            assert ours, stmt.stmt
            theirs = uow.conn.execute(core).all()
            assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
            assert [type(v) for r in ours for v in r] == [type(v) for r in theirs for v in r]
            assert [r._fields for r in ours] == [tuple(r._fields) for r in theirs]
    with runtime_any.db.read() as uow:  # times come back aware, in UTC

        row = _SESSION.first(uow.conn, {"sid": sid})
        assert row is not None and row.created_at.tzinfo is UTC
        assert _SESSION.first(uow.conn, {"sid": "no such session"}) is None


def test_listeners_see_every_statement(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    with counting(runtime_any.db.engine) as log, runtime_any.db.read() as uow:
        _ENVIRONMENT.rows(uow.conn, {"eid": env.id})
        _ENVIRONMENT.first(uow.conn, {"eid": env.id})
    begin = 1 if runtime_any.db.dialect == "sqlite" else 0
    assert log.count == begin + 2
    assert log.statements[-1].startswith("SELECT")


def test_driver_errors_are_sqlalchemy_errors(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    with runtime_any.db.read() as uow:
        ctx = runtime_any.sessions.authenticate(uow, env.id, user.jwt)
    now = datetime.now(UTC)
    token = {
        "id": "t1", "token_hash": "h" * 64, "user_id": ctx.user.id, "session_id": ctx.session.id,
        "single_use": True, "approval_digest": None, "created_at": now,
    }
    with pytest.raises(IntegrityError), runtime_any.db.write() as uow:
        _ADD_TOKEN.run(uow.conn, token)
        _ADD_TOKEN.run(uow.conn, token)  # the same primary key twice
    with runtime_any.db.read() as uow:  # the transaction rolled back; the pool's connection works
        assert _SESSION.first(uow.conn, {"sid": ctx.session.id}) is not None
        assert uow.conn.execute(select(m.mfa_tokens.c.id)).all() == []
    if runtime_any.db.dialect == "postgresql":
        # PostgreSQL refuses NUL in text: the API maps SQLAlchemy's DataError to a 400, never a 500.
        with pytest.raises(DataError), runtime_any.db.read() as uow:
            _SESSION.first(uow.conn, {"sid": "a\x00b"})


def test_refuses_outside_a_transaction_and_python_defaults(runtime_any: Runtime) -> None:
    with runtime_any.db.engine.connect() as conn, pytest.raises(RuntimeError):
        _ENVIRONMENT.rows(conn, {"eid": "x"})
    # mfa_devices.verified has a Python-side default, which Connection.execute would fill in.
    partial = Statement(insert(m.mfa_devices), keys=("id", "user_id", "type", "created_at"))
    with runtime_any.db.read() as uow, pytest.raises(ValueError, match="default"):
        partial.run(uow.conn, {"id": "d", "user_id": "u", "type": "totp", "created_at": datetime.now(UTC)})

