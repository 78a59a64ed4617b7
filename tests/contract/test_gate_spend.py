"""The gate's one-statement acceptance of an MFA token (issue 15.2), on SQLite and PostgreSQL.

``Gate.enforce`` accepts a presented MFA token with one ``UPDATE … RETURNING`` that checks the
token, its session and — when the requirement depends on them — the user's methods. These tests
hold it to the rules the two-step path (check, then spend) kept: a refused token is left unspent
and the refusal's reason is audited; a token presented where MFA is not required is not spent.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import GateVia, Proof
from actionmfa.errors import MfaTokenInvalidError
from actionmfa.services.core.tokens import MFA_TOKEN_PURPOSE
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log, mfa_tokens
from tests.conftest import EnvFixture, SignedIn, make_environment, sign_in
from tests.mfa_support import require_actions, set_mfa


@pytest.fixture
def runtime(runtime_any: Runtime) -> Runtime:
    return runtime_any


def _ctx(runtime: Runtime, env: EnvFixture, user: SignedIn) -> AuthContext:
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, env.id, user.jwt)


def _verified_device(runtime: Runtime, user: SignedIn) -> str:
    import uuid

    from actionmfa.domain.actions import MFADeviceType

    device_id = str(uuid.uuid4())
    with runtime.db.write() as uow:
        now = runtime.clock.now()
        uow.mfa.add_device(id=device_id, user_id=user.user.id, type=MFADeviceType.TOTP, secret_enc=b"x", now=now)
        uow.mfa.mark_verified(device_id, step=0, make_default=True, now=now)
    return device_id


def _mint(runtime: Runtime, ctx: AuthContext, *, single_use: bool = True, digest: str | None = None) -> str:
    with runtime.db.write() as uow:
        return runtime.services.core.tokens.mint_mfa_token(
            uow, ctx, single_use=single_use, approval_digest=digest, via="test"
        )


def _used_at(runtime: Runtime, token: str) -> Any:
    digest = runtime.keyring.keyed_hash(token, purpose=MFA_TOKEN_PURPOSE)
    with runtime.db.read() as uow:
        return uow.conn.execute(select(mfa_tokens.c.used_at).where(mfa_tokens.c.token_hash == digest)).scalar_one()


def _enforce(runtime: Runtime, ctx: AuthContext, proof: Proof, target: MFAAction | str = MFAAction.USER_UPDATE) -> Any:
    gate = runtime.services.core.gate
    from actionmfa.services.core.gate import denials_recorded

    with denials_recorded(runtime.db), runtime.db.write() as uow:
        return gate.enforce(uow, ctx, target, proof)


def _last_denial(runtime: Runtime) -> dict[str, Any]:
    with runtime.db.read() as uow:
        row = uow.conn.execute(
            select(audit_log.c.outcome, audit_log.c.details)
            .where(audit_log.c.event == "gate.denied")
            .order_by(audit_log.c.id.desc())
        ).first()
    assert row is not None
    return {"outcome": row.outcome, **row.details}


@pytest.fixture
def setup(runtime: Runtime) -> tuple[EnvFixture, SignedIn, AuthContext]:
    env = make_environment(runtime)
    user = sign_in(runtime, env)
    _verified_device(runtime, user)
    require_actions(runtime, env, "user.update")
    return env, user, _ctx(runtime, env, user)


def test_accepted_in_one_statement_and_spent_once(runtime: Runtime, setup: Any) -> None:
    _, _, ctx = setup
    token = _mint(runtime, ctx)
    decision = _enforce(runtime, ctx, Proof(mfa_token=token))
    assert (decision.allowed, decision.required, decision.via, decision.spent) == (True, True, GateVia.MFA_TOKEN, True)
    assert _used_at(runtime, token) is not None
    with pytest.raises(MfaTokenInvalidError):
        _enforce(runtime, ctx, Proof(mfa_token=token))
    assert _last_denial(runtime)["reason"] == "spent"


@pytest.mark.parametrize("case", ["other_session", "digest_mismatch", "unbound_digest_missing", "session_ended"])
def test_refused_token_is_not_spent_and_the_reason_is_audited(runtime: Runtime, setup: Any, case: str) -> None:
    env, user, ctx = setup
    presenter, digest, presented = ctx, None, None
    if case == "other_session":
        presenter = _ctx(runtime, env, sign_in(runtime, env, user.user.email))  # same user, session B
    elif case == "digest_mismatch":
        digest, presented = "a" * 64, "b" * 64
    elif case == "unbound_digest_missing":
        digest = "a" * 64  # bound to a payload, presented without it
    token = _mint(runtime, ctx, digest=digest)
    if case == "session_ended":
        runtime.clock.advance(days=2)  # type: ignore[attr-defined]  # past the 24 h session lifetime
    with pytest.raises(MfaTokenInvalidError):
        _enforce(runtime, presenter, Proof(mfa_token=token, approval_digest=presented))
    expected = "digest_mismatch" if case.endswith("digest_missing") else case
    assert _last_denial(runtime)["reason"] == expected
    assert _used_at(runtime, token) is None


def test_bound_token_accepted_with_its_digest(runtime: Runtime, setup: Any) -> None:
    _, _, ctx = setup
    token = _mint(runtime, ctx, digest="c" * 64)
    assert _enforce(runtime, ctx, Proof(mfa_token=token, approval_digest="c" * 64)).spent


def test_persistent_token_stays_valid_and_records_its_first_use(runtime: Runtime, setup: Any) -> None:
    _, _, ctx = setup
    token = _mint(runtime, ctx, single_use=False)
    first = _enforce(runtime, ctx, Proof(mfa_token=token))
    assert (first.allowed, first.spent) == (True, False)
    used = _used_at(runtime, token)
    runtime.clock.advance(60)  # type: ignore[attr-defined]
    assert _enforce(runtime, ctx, Proof(mfa_token=token)).allowed
    assert _used_at(runtime, token) == used  # the first use, kept


def test_not_required_without_a_method_leaves_the_token_unspent(runtime: Runtime, setup: Any) -> None:
    """``required`` for an action, but ``mfa.required`` off: MFA is asked only of a user with a
    verified method. The user's device goes after the token was minted: the token is ignored."""
    _, user, ctx = setup
    token = _mint(runtime, ctx)
    with runtime.db.write() as uow:
        for device in uow.mfa.devices(user.user.id):
            uow.mfa.delete_device(device.id)
    decision = _enforce(runtime, ctx, Proof(mfa_token=token))
    assert (decision.allowed, decision.required, decision.via) == (True, False, GateVia.NOT_REQUIRED)
    assert _used_at(runtime, token) is None


def test_required_for_everyone_spends_without_counting_methods(runtime: Runtime, setup: Any) -> None:
    env, user, ctx = setup
    set_mfa(runtime, env, enrollment="action", actions=[{"action": "user.update", "required": True}])
    ctx = _ctx(runtime, env, user)
    token = _mint(runtime, ctx)
    with runtime.db.write() as uow:
        for device in uow.mfa.devices(user.user.id):
            uow.mfa.delete_device(device.id)
    decision = _enforce(runtime, ctx, Proof(mfa_token=token))
    assert (decision.required, decision.via, decision.spent) == (True, GateVia.MFA_TOKEN, True)


def test_credential_scope_needs_the_token_while_enrolled(runtime: Runtime, setup: Any) -> None:
    _, _, ctx = setup
    token = _mint(runtime, ctx)
    assert _enforce(runtime, ctx, Proof(mfa_token=token), "credential:unlink").via is GateVia.MFA_TOKEN
    assert _used_at(runtime, token) is not None
