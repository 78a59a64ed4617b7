"""Contract suite for the foundation store: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from actionmfa.clock import FrozenClock
from actionmfa.errors import UnauthorizedError
from actionmfa.services.core.keys import KeyPurpose
from actionmfa.services.runtime import Runtime
from tests.conftest import make_environment, sign_in


def test_timestamps_round_trip_as_aware_utc(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    with runtime_any.db.read() as uow:
        loaded = uow.environments.get(env.id)
    assert loaded is not None
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at == runtime_any.clock.now()


def test_session_jwt_verifies_and_dies_with_logout(runtime_any: Runtime) -> None:
    env = make_environment(runtime_any)
    who = sign_in(runtime_any, env)
    with runtime_any.db.read() as uow:
        ctx = runtime_any.sessions.authenticate(uow, env.id, who.jwt)
    assert ctx.user.id == who.user.id
    with runtime_any.db.write() as uow:
        runtime_any.sessions.logout(uow, ctx)
    with runtime_any.db.read() as uow, pytest.raises(UnauthorizedError):
        runtime_any.sessions.authenticate(uow, env.id, who.jwt)


def test_session_expires_with_clock(runtime_any: Runtime, clock: FrozenClock) -> None:
    env = make_environment(runtime_any, settings={"security": {"jwtDuration": {"amount": 5, "unit": "minutes"}}})
    who = sign_in(runtime_any, env)
    clock.advance(299)
    with runtime_any.db.read() as uow:
        runtime_any.sessions.authenticate(uow, env.id, who.jwt)
    clock.advance(1)
    with runtime_any.db.read() as uow, pytest.raises(UnauthorizedError):
        runtime_any.sessions.authenticate(uow, env.id, who.jwt)


def test_key_rotation_keeps_old_tokens_valid(runtime_any: Runtime, clock: FrozenClock) -> None:
    env = make_environment(runtime_any)
    old = sign_in(runtime_any, env)
    with runtime_any.db.write() as uow:
        runtime_any.keys.rotate(uow, env.id, KeyPurpose.SESSION, clock.now())
    new = sign_in(runtime_any, env)
    with runtime_any.db.read() as uow:
        runtime_any.sessions.authenticate(uow, env.id, old.jwt)
        runtime_any.sessions.authenticate(uow, env.id, new.jwt)
        jwks = runtime_any.keys.jwks(uow, env.id, clock.now())
    assert len(jwks["keys"]) == 2


def test_forged_token_refused(runtime_any: Runtime) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    env = make_environment(runtime_any)
    who = sign_in(runtime_any, env)
    header = jwt.get_unverified_header(who.jwt)
    claims = jwt.decode(who.jwt, options={"verify_signature": False})
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)
    none_alg = jwt.encode(claims, None, algorithm="none", headers={"kid": header["kid"]})
    for bad in (forged, none_alg, who.jwt + "x", "garbage"):
        with runtime_any.db.read() as uow, pytest.raises(UnauthorizedError):
            runtime_any.sessions.authenticate(uow, env.id, bad)


def test_email_code_single_use_is_atomic(runtime_any: Runtime, clock: FrozenClock) -> None:
    env = make_environment(runtime_any)
    vid = str(uuid.uuid4())
    with runtime_any.db.write() as uow:
        uow.email_verifications.add(
            id=vid, environment_id=env.id, email="a@example.com", code_hash="h" * 64,
            now=clock.now(), expires_at=clock.now() + timedelta(minutes=10),
        )
    with runtime_any.db.write() as uow:
        assert uow.email_verifications.mark_used(vid, clock.now()) is True
    with runtime_any.db.write() as uow:
        assert uow.email_verifications.mark_used(vid, clock.now()) is False
