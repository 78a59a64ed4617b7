"""Property test: odd codes thrown at every code route get a 4xx and spend nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from actionmfa.clock import FrozenClock
from actionmfa.factors import recovery, totp
from actionmfa.services.mfa import lockout as ratelimit
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import mfa_devices, mfa_tokens, recovery_codes
from tests.conftest import EnvFixture, SignedIn, sign_in
from tests.mfa_support import enrol_totp

ODD_STRINGS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=6, max_size=6),  # other scripts' digits
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=10, max_size=10),
    st.builds(lambda c, ws: ws + c + ws, st.text(alphabet="0123456789", min_size=1, max_size=8),
              st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2003", "\u200b"])),
    st.builds(lambda c: c + "\x00", st.text(alphabet="0123456789ABCDEF", min_size=5, max_size=10)),
    st.just("1" * 10_000),
    st.just("Z" * 10_000),
    st.text(alphabet="0123456789", min_size=0, max_size=12),
)
ODD_VALUES: st.SearchStrategy[Any] = st.one_of(
    ODD_STRINGS, st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.floats(allow_nan=False, allow_infinity=False),
)
ROUTES = ["/users/mfa/auth/totp", "/users/mfa/auth/recovery", "/users/mfa/register/totp"]


def _state(runtime: Runtime) -> tuple[Any, ...]:
    with runtime.db.read() as uow:
        steps = tuple(uow.conn.execute(select(mfa_devices.c.id, mfa_devices.c.last_step, mfa_devices.c.verified)))
        used = uow.conn.execute(select(func.count()).where(recovery_codes.c.used_at.is_not(None))).scalar()
        tokens = uow.conn.execute(select(func.count()).select_from(mfa_tokens)).scalar()
    return steps, used, tokens


def test_odd_codes_are_4xx_and_spend_nothing(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    enrolled = enrol_totp(app_client, environment, signed_in_user, clock)
    # register/totp needs a pending device: a second user who started enrolment and never finished
    pending_user = sign_in(runtime, environment)
    pending = app_client.get(environment.sdk("/users/mfa/register/totp"), headers=pending_user.headers).json()
    clock.advance(30)
    valid = {totp.code_at_step(enrolled.secret, totp.time_step(clock.now()) + d) for d in (-1, 0, 1)}
    valid |= {totp.code_at_step(pending["secret"], totp.time_step(clock.now()) + d) for d in (-1, 0, 1)}
    valid |= set(enrolled.recovery_codes)
    before = _state(runtime)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(ROUTES), code=ODD_VALUES, with_mint=st.booleans())
    def run(route: str, code: Any, with_mint: bool) -> None:
        if isinstance(code, str):
            normal_totp = totp.normalize_code(code)
            normal_rec = recovery.normalize_code(code)
            if normal_totp in valid or normal_rec in valid:
                return
        who = pending_user if route.endswith("register/totp") else signed_in_user
        with runtime.db.write() as uow:
            ratelimit.clear(uow, who.user.id)  # reach the code checker every time
        body: dict[str, Any] = {"code": code}
        if who is pending_user:
            body["type"] = "totp"
        elif with_mint:
            body["createMfaToken"] = {"singleUse": True}
            body["requestedScopes"] = ["wallet:sign"]
        r = app_client.post(environment.sdk(route), headers=who.headers, json=body)
        assert 400 <= r.status_code < 500, (route, repr(code)[:80], r.status_code, r.text[:200])
        payload = r.json()
        assert set(payload) >= {"error", "code"} and "Traceback" not in r.text

    run()
    assert _state(runtime) == before
    # and the real codes still work afterwards
    with runtime.db.write() as uow:
        ratelimit.clear(uow, signed_in_user.user.id)
    r = app_client.post(environment.sdk("/users/mfa/auth/recovery"), headers=signed_in_user.headers,
                        json={"code": enrolled.recovery_codes[0]})
    assert r.status_code == 200
