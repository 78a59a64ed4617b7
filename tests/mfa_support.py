"""Helpers for the MFA core's tests: settings, enrolment, codes at the frozen clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.factors import totp
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn


def set_mfa(runtime: Runtime, env: EnvFixture, **mfa: Any) -> None:
    with runtime.db.write() as uow:
        runtime.environments.update(uow, env.id, name=None, settings_patch={"security": {"mfa": mfa}})


def require_actions(runtime: Runtime, env: EnvFixture, *actions: str, **extra: Any) -> None:
    set_mfa(runtime, env, actions=[{"action": a, "required": True, **extra} for a in actions])


@dataclass
class Enrolled:
    device_id: str
    secret: str
    recovery_codes: list[str]


def code_now(secret: str, clock: FrozenClock) -> str:
    return totp.code_at(secret, clock.now())


def fresh_code(secret: str, clock: FrozenClock) -> str:
    """Move to the next time step (a code is accepted once) and return its code."""
    clock.advance(30)
    return code_now(secret, clock)


def enrol_totp(client: TestClient, env: EnvFixture, user: SignedIn, clock: FrozenClock) -> Enrolled:
    r = client.get(env.sdk("/users/mfa/register/totp"), headers=user.headers)
    assert r.status_code == 200, r.text
    reg = r.json()
    r = client.post(
        env.sdk("/users/mfa/auth/totp"),
        headers=user.headers,
        json={"id": reg["id"], "code": code_now(reg["secret"], clock)},
    )
    assert r.status_code == 200, r.text
    r = client.get(env.sdk("/users/mfa/recovery"), headers=user.headers)
    assert r.status_code == 200, r.text
    return Enrolled(reg["id"], reg["secret"], r.json()["recoveryCodes"])


def mfa_auth(
    client: TestClient, env: EnvFixture, user: SignedIn, enrolled: Enrolled, clock: FrozenClock, **body: Any
) -> dict[str, Any]:
    r = client.post(
        env.sdk("/users/mfa/auth/totp"), headers=user.headers, json={"code": fresh_code(enrolled.secret, clock), **body}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]
