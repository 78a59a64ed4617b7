"""Issue 11.1: someone who only knows a user's email address cannot lock the user out.

The attack of the issue: ``emailVerifications/create`` then five wrong codes to
``emailVerifications/signin`` (six unauthenticated requests), repeated. Before the fix it fed the
user's MFA failure counter and TOTP, recovery codes and a fresh email sign-in all answered 429 for
15 minutes. Now the unauthenticated routes have their own limits (per verification, address,
client and pair, services/signin/throttle.py), which still stop the guessing, and never touch the
MFA counter — on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actionmfa.api.app import create_app
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.services.mfa import lockout
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin import email as email_signin
from actionmfa.services.signin import throttle
from actionmfa.services.signin.mailer import MailMessage
from tests.api.passkey_helpers import PasskeyUser
from tests.conftest import EnvFixture, SignedIn, make_environment
from tests.mfa_support import enrol_totp, fresh_code, mfa_auth

VICTIM = "alice@example.com"
VICTIM_IP = "198.51.100.7"
ATTACKER_IP = "203.0.113.66"


@dataclass
class Outbox:
    sent: list[MailMessage] = field(default_factory=list)

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)

    def code(self) -> str:
        return self.sent[-1].subject.rsplit(" ", 1)[-1]


@pytest.fixture
def config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "data", trust_proxy_headers=True)


@pytest.fixture
def outbox(runtime_any: Runtime) -> Outbox:
    box = Outbox()
    runtime_any.mailer = box
    return box


@pytest.fixture
def client(runtime_any: Runtime, outbox: Outbox) -> Iterator[TestClient]:
    with TestClient(create_app(runtime_any, migrate=False), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def env(runtime_any: Runtime) -> EnvFixture:
    return make_environment(runtime_any)


def ip(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def send(client: TestClient, env: EnvFixture, email: str, address: str) -> tuple[int, str]:
    r = client.post(env.sdk("/emailVerifications/create"), json={"email": email}, headers=ip(address))
    return r.status_code, str(r.json().get("verificationUUID") or r.json().get("code"))


def guess(client: TestClient, env: EnvFixture, vid: str, code: str, address: str) -> tuple[int, str]:
    r = client.post(
        env.sdk("/emailVerifications/signin"),
        json={"verificationUUID": vid, "verificationToken": code},
        headers=ip(address),
    )
    return r.status_code, str(r.json().get("code") or "ok")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def email_sign_in(
    client: TestClient, env: EnvFixture, outbox: Outbox, email: str, address: str, runtime: Runtime
) -> SignedIn:
    status, vid = send(client, env, email, address)
    assert status == 201, vid
    r = client.post(
        env.sdk("/emailVerifications/signin"),
        json={"verificationUUID": vid, "verificationToken": outbox.code()},
        headers=ip(address),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    with runtime.db.read() as uow:
        user = uow.users.get(env.id, body["user"]["id"])
    assert user is not None
    return SignedIn(user=user, jwt=body["jwt"], session_id=body["user"]["sessionId"])


def attack_round(client: TestClient, env: EnvFixture, outbox: Outbox) -> list[str]:
    """One mail and five wrong codes, from the attacker's address: what each guess got."""
    status, vid = send(client, env, VICTIM, ATTACKER_IP)
    assert status == 201, vid
    return [guess(client, env, vid, wrong(outbox.code()), ATTACKER_IP)[1] for _ in range(email_signin.MAX_ATTEMPTS)]


def test_the_issue_attack_locks_out_neither_mfa_nor_email_sign_in(
    client: TestClient, env: EnvFixture, outbox: Outbox, runtime_any: Runtime, clock: FrozenClock
) -> None:
    alice = email_sign_in(client, env, outbox, VICTIM, VICTIM_IP, runtime_any)
    enrolled = enrol_totp(client, env, alice, clock)
    token = mfa_auth(client, env, alice, enrolled, clock, createMfaToken={"singleUse": False})["mfaToken"]
    passkey = PasskeyUser(client, env, alice)
    assert passkey.register(headers={"x-mfa-auth-token": token}).status_code == 200

    answers = []
    for n in range(3):  # repeated, one mail every 14 minutes (the old lockout lasted 15)
        if n:
            clock.advance(minutes=14)
        answers += attack_round(client, env, outbox)
    # Guessing is still stopped: ten wrong codes from one client against one address, then 429.
    pair = throttle.FAILURES_PER_ADDRESS_CLIENT
    assert answers[:pair] == ["invalid_verification_code"] * pair
    assert set(answers[pair:]) == {"signin_rate_limited"}
    with runtime_any.db.read() as uow:  # the MFA counter was never fed by the stranger
        assert uow.mfa.count_failures_since(alice.user.id, clock.now() - timedelta(days=1)) == 0

    # The real user: TOTP, a recovery code, a passkey and a fresh email sign-in all work.
    r = client.post(env.sdk("/users/mfa/auth/totp"), headers=alice.headers,
                    json={"code": fresh_code(enrolled.secret, clock)})
    assert r.status_code == 200, r.text
    r = client.post(env.sdk("/users/mfa/auth/recovery"), headers=alice.headers,
                    json={"code": enrolled.recovery_codes[0]})
    assert r.status_code == 200, r.text
    assert passkey.authenticate().status_code == 200
    again = email_sign_in(client, env, outbox, VICTIM, VICTIM_IP, runtime_any)
    assert again.user.id == alice.user.id


def test_the_mfa_counter_still_stops_a_session_holder_guessing_totp(
    client: TestClient, env: EnvFixture, outbox: Outbox, clock: FrozenClock, runtime_any: Runtime
) -> None:
    alice = email_sign_in(client, env, outbox, VICTIM, VICTIM_IP, runtime_any)
    enrolled = enrol_totp(client, env, alice, clock)
    bad = f"{(int(fresh_code(enrolled.secret, clock)) + 1) % 1_000_000:06d}"
    codes = [
        client.post(env.sdk("/users/mfa/auth/totp"), headers=alice.headers, json={"code": bad}).json()["code"]
        for _ in range(lockout.MAX_FAILURES + 1)
    ]
    assert codes == ["mfa_invalid_code"] * lockout.MAX_FAILURES + ["mfa_rate_limited"]
    # ... and that lockout does not close email sign-in (a first factor, limited on its own).
    assert email_sign_in(client, env, outbox, VICTIM, VICTIM_IP, runtime_any).user.id == alice.user.id


def test_one_client_guessing_across_addresses_is_stopped(
    client: TestClient, env: EnvFixture, outbox: Outbox, clock: FrozenClock, runtime_any: Runtime
) -> None:
    per_address = email_signin.MAX_ATTEMPTS
    addresses = throttle.FAILURES_PER_CLIENT // per_address
    for n in range(addresses):
        status, vid = send(client, env, f"target{n}@example.com", ATTACKER_IP)
        assert status == 201
        assert {guess(client, env, vid, wrong(outbox.code()), ATTACKER_IP)[1] for _ in range(per_address)} == {
            "invalid_verification_code"
        }
    status, vid = send(client, env, "one-more@example.com", ATTACKER_IP)
    assert status == 201
    assert guess(client, env, vid, outbox.code(), ATTACKER_IP) == (429, "signin_rate_limited")  # even the right one
    # Another client is not affected, and the block ends when the failures leave the window.
    assert email_sign_in(client, env, outbox, "bystander@example.com", VICTIM_IP, runtime_any)
    clock.advance(throttle.WINDOW.total_seconds() + 1)
    assert email_sign_in(client, env, outbox, "one-more@example.com", ATTACKER_IP, runtime_any)


def test_a_distributed_guesser_is_bounded_per_address(client: TestClient, env: EnvFixture, outbox: Outbox) -> None:
    """The per-address limit (30 an hour) bounds guessing from many clients; one client alone
    cannot reach it (the pair limit stops it at 10)."""
    clients = [f"192.0.2.{n}" for n in range(throttle.FAILURES_PER_ADDRESS // throttle.FAILURES_PER_ADDRESS_CLIENT)]
    for address in clients:
        for _ in range(throttle.FAILURES_PER_ADDRESS_CLIENT // email_signin.MAX_ATTEMPTS):
            status, vid = send(client, env, VICTIM, address)
            assert status == 201
            for _ in range(email_signin.MAX_ATTEMPTS):
                assert guess(client, env, vid, wrong(outbox.code()), address)[1] == "invalid_verification_code"
    status, vid = send(client, env, VICTIM, "192.0.2.200")
    assert status == 201
    assert guess(client, env, vid, outbox.code(), "192.0.2.200") == (429, "signin_rate_limited")


def test_codes_sent_are_limited_per_client_and_address(client: TestClient, env: EnvFixture, outbox: Outbox) -> None:
    for _ in range(throttle.SENDS_PER_ADDRESS_CLIENT):
        assert send(client, env, VICTIM, ATTACKER_IP)[0] == 201
    assert send(client, env, VICTIM, ATTACKER_IP) == (429, "email_rate_limited")
    assert send(client, env, VICTIM, VICTIM_IP)[0] == 201  # the real user's code still goes out
    others = [f"192.0.2.{n}" for n in range(throttle.SENDS_PER_ADDRESS // throttle.SENDS_PER_ADDRESS_CLIENT)]
    for address in others:
        while send(client, env, VICTIM, address)[0] == 201:
            pass
    assert send(client, env, VICTIM, "192.0.2.250") == (429, "email_rate_limited")  # the mailbox is protected
    assert len(outbox.sent) == throttle.SENDS_PER_ADDRESS


def test_failed_external_sign_ins_count_per_client(client: TestClient, env: EnvFixture, clock: FrozenClock) -> None:
    def external(address: str) -> str:
        r = client.post(env.sdk("/externalAuth/signin"), json={"jwt": "not.a.jwt"}, headers=ip(address))
        return str(r.json()["code"])

    assert {external(ATTACKER_IP) for _ in range(throttle.FAILURES_PER_CLIENT)} == {"unauthorized"}
    assert external(ATTACKER_IP) == "signin_rate_limited"
    assert external(VICTIM_IP) == "unauthorized"
    clock.advance(throttle.WINDOW.total_seconds() + 1)
    assert external(ATTACKER_IP) == "unauthorized"


@pytest.mark.parametrize("forwarded", ["x" * 300, "198.51.100.7, " + "9" * 200, "not an address", "  "])
def test_a_forwarded_address_that_is_not_an_ip_address_is_not_trusted(
    client: TestClient, env: EnvFixture, outbox: Outbox, runtime_any: Runtime, forwarded: str
) -> None:
    """Behind a proxy that does not append its own entry, X-Forwarded-For is the client's to write:
    a value that is not an IP address must neither answer 500 (the audit column is 64 characters;
    PostgreSQL refused the row) nor become the client address the sign-in limits count by."""
    email_sign_in(client, env, outbox, VICTIM, forwarded, runtime_any)
    with runtime_any.db.read() as uow:
        rows = uow.audit.page(env.id, before_id=None, limit=5)
    assert rows and all(row.client_address == "testclient" for row in rows)
