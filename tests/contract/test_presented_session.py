"""Hot MFA routes read the session row in the authentication's own write transaction
(services/core/sessions.py PresentedSession, issue 15), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actionmfa.domain.models import RequestMeta
from actionmfa.errors import UnauthorizedError
from actionmfa.factors import totp
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from tests.conftest import make_environment, sign_in


def test_presented_session_loaded_in_the_use_case_transaction(runtime_any: Runtime) -> None:
    """A verified JWT whose session ended is refused (401) inside the authentication's own
    transaction, before the lockout counts anything; a live one authenticates (both databases)."""
    env = make_environment(runtime_any)
    user = sign_in(runtime_any, env)
    mfa, access = runtime_any.services.mfa, runtime_any.services.core.access
    with runtime_any.db.read() as uow:
        ctx = runtime_any.sessions.authenticate(uow, env.id, user.jwt)
    reg = mfa.totp.register_totp(ctx)
    mfa.totp.authenticate_totp(ctx, totp.code_at(reg.secret, runtime_any.clock.now()), device_id=reg.id,
                               mint=MintRequest())
    presented = access.presented(env.id, user.jwt, RequestMeta())
    runtime_any.clock.advance(30)  # type: ignore[attr-defined]
    result = mfa.totp.authenticate_totp(
        presented, totp.code_at(reg.secret, runtime_any.clock.now()), device_id=None,
        mint=MintRequest(create_mfa_token=True),
    )
    assert result.mfa_token and result.issued.session.id == user.session_id
    with runtime_any.db.write() as uow:
        uow.sessions.revoke(user.session_id, runtime_any.clock.now())
    for _ in range(6):
        with pytest.raises(UnauthorizedError):
            mfa.totp.authenticate_totp(presented, "000000", device_id=None, mint=MintRequest())
        with pytest.raises(UnauthorizedError):
            mfa.recovery.authenticate_recovery(presented, "0000-0000", mint=MintRequest())
    with runtime_any.db.read() as uow:
        assert uow.conn.execute(select(m.mfa_failures.c.id)).all() == []
