"""Statements per request on the hot paths (issue 15): a later change cannot silently add round trips.

Counted with :func:`actionmfa.store.statements.counting` (SQLAlchemy's ``before_cursor_execute``),
``BEGIN`` statements included, on both databases. The figures are the contract: lowering one is
progress (update the table), raising one needs a reason in the commit message.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.services.runtime import Runtime
from actionmfa.store.statements import counting
from tests.api.passkey_helpers import PasskeyUser
from tests.conftest import EnvFixture, SignedIn
from tests.mfa_support import enrol_totp, fresh_code, require_actions

# path → (SQLite, PostgreSQL): SQLite sends one BEGIN per transaction, psycopg's BEGIN is implicit.
# Before issue 15 (SQLite): GET /users 6, TOTP auth 21, recovery 16, passkey 16, gated PUT 14.
# A write transaction's audit rows cost 3 statements since the keyed hash chain (head upsert, one
# multi-row INSERT, head update: store/repos/audit.py).
# Since the answer's credentials are read in the authentication's own transaction (one BEGIN and
# one COMMIT fewer): TOTP 12 → 11, recovery 10 → 9, passkey 12 → 11 on SQLite (PostgreSQL: same
# statements, one round trip — the COMMIT — fewer).
# Since the session row is read in the request's own transaction (the JWT verified before it:
# services/core/sessions.py PresentedSession): one BEGIN fewer on SQLite for every path, two for
# the gated PUT (its answer's credentials too); on PostgreSQL the same statements, one or two
# COMMITs fewer.
# PostgreSQL: the audit rows and the chain head's new hash in one statement (a data-modifying WITH,
# store/repos/audit.py): one statement fewer on every path that writes audit rows, while the head
# row — which every writer of the environment queues on — is locked (issue 15.3).
# PostgreSQL: a code success always clears the failure counter (one DELETE more on TOTP and
# recovery-code auth): the lock statement's "are there failures?" could miss a failure committed
# while it waited for the row (tests/contract/test_redteam_lockout_race.py).
# Since the gate accepts a presented MFA token in one UPDATE … RETURNING that checks the token, its
# session and, when the rule depends on them, the user's methods (services/core/gate.py): gated
# PUT 10 → 8 on SQLite, 8 → 6 on PostgreSQL (no SELECT of the token, no count of the devices).
# Passkey auth (issue 15.1): its first transaction is a read now (session, passkey) and the
# assertion is verified outside any transaction; the challenge is spent in the one write
# transaction with the counter: the same statements, one write transaction fewer.
EXPECTED: dict[str, tuple[int, int]] = {
    "GET /users": (3, 2),
    "TOTP auth + createMfaToken": (10, 9),
    "recovery-code auth": (8, 7),
    "passkey auth": (10, 7),
    "gated PUT /users": (8, 6),
}


@pytest.fixture
def runtime(runtime_any: Runtime) -> Runtime:
    return runtime_any


def _expected(runtime: Runtime, path: str) -> int:
    sqlite, postgres = EXPECTED[path]
    return sqlite if runtime.db.dialect == "sqlite" else postgres


def _count(runtime: Runtime, path: str, call: object) -> int:
    assert callable(call)
    with counting(runtime.db.engine) as log:
        call()
    return log.count


def test_hot_path_statement_counts(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn, clock: FrozenClock
) -> None:
    client, env, user = app_client, environment, signed_in_user
    require_actions(runtime, env, "user.update")
    enrolled = enrol_totp(client, env, user, clock)
    counts: dict[str, int] = {}

    def get_users() -> None:
        assert client.get(env.sdk("/users"), headers=user.headers).status_code == 200

    counts["GET /users"] = _count(runtime, "GET /users", get_users)

    token: list[str] = []

    def totp_auth() -> None:
        r = client.post(
            env.sdk("/users/mfa/auth/totp"),
            headers=user.headers,
            json={"code": fresh_code(enrolled.secret, clock), "createMfaToken": {"singleUse": True}},
        )
        assert r.status_code == 200, r.text
        token.append(r.json()["mfaToken"])

    counts["TOTP auth + createMfaToken"] = _count(runtime, "TOTP auth + createMfaToken", totp_auth)

    def gated_put() -> None:
        r = client.put(
            env.sdk("/users"), headers={**user.headers, "x-mfa-auth-token": token[0]}, json={"alias": "fast"}
        )
        assert r.status_code == 200, r.text

    counts["gated PUT /users"] = _count(runtime, "gated PUT /users", gated_put)

    def recovery_auth() -> None:
        r = client.post(
            env.sdk("/users/mfa/auth/recovery"), headers=user.headers, json={"code": enrolled.recovery_codes[0]}
        )
        assert r.status_code == 200, r.text

    counts["recovery-code auth"] = _count(runtime, "recovery-code auth", recovery_auth)

    pk = PasskeyUser(client, env, user)
    r = pk.register(headers={"x-mfa-auth-token": _mint(client, env, user, enrolled.secret, clock)})
    assert r.status_code == 200, r.text
    assertion = pk.auth.get(pk.authentication_options(), origin="http://localhost:8080")

    def passkey_auth() -> None:
        r = pk.post_assertion(assertion)
        assert r.status_code == 200, r.text

    counts["passkey auth"] = _count(runtime, "passkey auth", passkey_auth)
    assert counts == {path: _expected(runtime, path) for path in EXPECTED}


def _mint(client: TestClient, env: EnvFixture, user: SignedIn, secret: str, clock: FrozenClock) -> str:
    r = client.post(
        env.sdk("/users/mfa/auth/totp"),
        headers=user.headers,
        json={"code": fresh_code(secret, clock), "createMfaToken": {"singleUse": True}},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["mfaToken"])
