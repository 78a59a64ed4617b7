"""Email one-time-code sign-in over a real SMTP exchange (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from actionmfa.api.app import create_app
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig, SmtpConfig
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFADeviceType
from actionmfa.services.mfa import lockout as ratelimit
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin import email as email_signin
from actionmfa.services.signin import throttle
from actionmfa.services.signin.mailer import LogMailer, MailMessage, SmtpMailer, UnconfiguredMailer, mailer_for
from actionmfa.store import tables as t
from actionmfa.store.db import Database
from actionmfa.store.repos.mfa import MfaRepo
from tests.conftest import EnvFixture, make_environment
from tests.mailsink import SmtpSink, free_port


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def smtp_runtime(
    database_url: str, tmp_path: Path, clock: FrozenClock, keyring: Keyring, smtp: SmtpSink
) -> Iterator[Runtime]:
    """A runtime whose mailer talks SMTP to the sink, on each database backend."""
    config = ServerConfig(
        data_dir=tmp_path / "data", smtp=SmtpConfig(host="127.0.0.1", port=smtp.port, sender="Acme <auth@acme.test>")
    )
    rt = Runtime.build(config, clock=clock, keyring=keyring, db=Database(database_url))
    assert isinstance(rt.mailer, SmtpMailer)
    yield rt
    rt.db.dispose()


@pytest.fixture
def client(smtp_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(smtp_runtime, migrate=False), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def env(smtp_runtime: Runtime) -> EnvFixture:
    return make_environment(smtp_runtime)


def send_code(client: TestClient, env: EnvFixture, email: str = "Alice@Example.com") -> str:
    r = client.post(env.sdk("/emailVerifications/create"), json={"email": email})
    assert r.status_code == 201, r.text
    return str(r.json()["verificationUUID"])


def signin(client: TestClient, env: EnvFixture, vid: str, code: str) -> tuple[int, dict[str, object]]:
    r = client.post(env.sdk("/emailVerifications/signin"), json={"verificationUUID": vid, "verificationToken": code})
    return r.status_code, r.json()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_arrives_by_smtp_and_signs_in_creating_the_user(
    client: TestClient, env: EnvFixture, smtp: SmtpSink, smtp_runtime: Runtime
) -> None:
    vid = send_code(client, env)
    mail = smtp.last()
    assert mail.rcpt_tos == ["alice@example.com"]
    assert mail.mail_from == "auth@acme.test"
    # the app's display name (default: the passkey rp name), never the environment's name "Acme"
    assert mail.message["Subject"].startswith("Your ActionMFA sign-in code")
    status, body = signin(client, env, vid, mail.code())
    assert status == 200, body
    user = body["user"]
    assert isinstance(user, dict)
    assert user["email"] == "alice@example.com" and user["scope"] == "user:basic"
    claims = jwt.decode(str(body["jwt"]), options={"verify_signature": False})
    assert claims["sub"] == user["id"] and claims["environment_id"] == env.id
    assert body["expiresAt"] == claims["exp"]
    r = client.get(env.sdk("/users"), headers={"Authorization": f"Bearer {body['jwt']}"})
    assert r.status_code == 200 and r.json()["id"] == user["id"]
    # A second sign-in finds the same user.
    vid2 = send_code(client, env, "alice@example.com")
    status, body2 = signin(client, env, vid2, smtp.last().code())
    assert status == 200 and body2["user"]["id"] == user["id"]  # type: ignore[index]


def test_code_is_stored_only_as_a_keyed_hash(client: TestClient, env: EnvFixture, smtp: SmtpSink,
                                             smtp_runtime: Runtime) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    with smtp_runtime.db.read() as uow:
        row = uow.conn.execute(t.email_verifications.select()).one()
    assert row.id == vid and code not in row.code_hash and len(row.code_hash) == 64


def test_wrong_code_is_422_and_counts(client: TestClient, env: EnvFixture, smtp: SmtpSink) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    status, body = signin(client, env, vid, wrong(code))
    assert (status, body["code"]) == (422, "invalid_verification_code")
    status, body = signin(client, env, vid, "abcdef")
    assert (status, body["code"]) == (422, "invalid_verification_code")
    status, _ = signin(client, env, vid, code)
    assert status == 200


def test_sixth_try_is_refused_even_with_the_right_code(client: TestClient, env: EnvFixture, smtp: SmtpSink) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    for _ in range(email_signin.MAX_ATTEMPTS):
        status, body = signin(client, env, vid, wrong(code))
        assert body["code"] == "invalid_verification_code"
    status, body = signin(client, env, vid, code)
    assert (status, body["code"]) == (429, "verification_attempts_exceeded")


def test_expired_code_is_410(client: TestClient, env: EnvFixture, smtp: SmtpSink, clock: FrozenClock) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    clock.advance(minutes=10)
    status, body = signin(client, env, vid, code)
    assert (status, body["code"]) == (410, "verification_expired")


def test_code_valid_until_just_before_expiry(client: TestClient, env: EnvFixture, smtp: SmtpSink,
                                             clock: FrozenClock) -> None:
    vid = send_code(client, env)
    clock.advance(seconds=599)
    status, _ = signin(client, env, vid, smtp.last().code())
    assert status == 200


def test_used_code_is_410(client: TestClient, env: EnvFixture, smtp: SmtpSink) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    assert signin(client, env, vid, code)[0] == 200
    status, body = signin(client, env, vid, code)
    assert (status, body["code"]) == (410, "verification_used")


def test_unknown_verification_and_other_environment_are_404(
    client: TestClient, env: EnvFixture, smtp: SmtpSink, smtp_runtime: Runtime
) -> None:
    vid = send_code(client, env)
    code = smtp.last().code()
    status, body = signin(client, env, "00000000-0000-0000-0000-000000000000", code)
    assert (status, body["code"]) == (404, "verification_not_found")
    other = make_environment(smtp_runtime, "Other")
    status, body = signin(client, other, vid, code)
    assert (status, body["code"]) == (404, "verification_not_found")


def test_bad_input_is_422_naming_the_field(client: TestClient, env: EnvFixture) -> None:
    r = client.post(env.sdk("/emailVerifications/create"), json={"email": "not-an-address"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request" and r.json()["field"] == "email"
    r = client.post(env.sdk("/emailVerifications/signin"), json={"verificationUUID": "x"})
    assert r.status_code == 422 and r.json()["field"] == "verificationToken"
    r = client.post("/api/v0/sdk/00000000-0000-0000-0000-000000000000/emailVerifications/create",
                    json={"email": "a@example.com"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_sending_is_limited_per_address(client: TestClient, env: EnvFixture, smtp: SmtpSink,
                                        clock: FrozenClock) -> None:
    for _ in range(throttle.SENDS_PER_ADDRESS_CLIENT):
        send_code(client, env, "flood@example.com")
    r = client.post(env.sdk("/emailVerifications/create"), json={"email": "FLOOD@example.com"})
    assert r.status_code == 429 and r.json()["code"] == "email_rate_limited"
    assert len(smtp.received) == throttle.SENDS_PER_ADDRESS_CLIENT
    send_code(client, env, "someone-else@example.com")
    clock.advance(throttle.WINDOW.total_seconds() + 1)
    send_code(client, env, "flood@example.com")


def test_wrong_email_codes_never_touch_the_mfa_failure_counter(
    client: TestClient, env: EnvFixture, smtp: SmtpSink, smtp_runtime: Runtime, clock: FrozenClock
) -> None:
    """DESIGN §8 / issue 11.1: the route needs no session, so it has its own limits."""
    vid = send_code(client, env)
    status, body = signin(client, env, vid, smtp.last().code())
    assert status == 200  # the user now exists
    user_id = str(body["user"]["id"])  # type: ignore[index]
    vid = send_code(client, env)
    code = smtp.last().code()
    for _ in range(ratelimit.MAX_FAILURES):
        assert signin(client, env, vid, wrong(code))[1]["code"] == "invalid_verification_code"
    vid = send_code(client, env)
    assert signin(client, env, vid, smtp.last().code())[0] == 200
    with smtp_runtime.db.read() as uow:
        assert uow.mfa.count_failures_since(user_id, clock.now() - ratelimit.WINDOW) == 0
        assert not ratelimit.is_locked(uow, user_id, clock.now())


def test_session_mfa_pending_when_user_has_a_verified_method(
    client: TestClient, env: EnvFixture, smtp: SmtpSink, smtp_runtime: Runtime
) -> None:
    vid = send_code(client, env)
    status, body = signin(client, env, vid, smtp.last().code())
    user_id = str(body["user"]["id"])  # type: ignore[index]
    with smtp_runtime.db.write() as uow:
        runtime_env = smtp_runtime.environments.update(
            uow, env.id, name=None, settings_patch={"security": {"mfa": {"enabled": True}}}
        )
        assert runtime_env.settings.security.mfa.enabled
        repo = MfaRepo(uow.conn)
        repo.add_device(id="dev-1", user_id=user_id, type=MFADeviceType.TOTP, secret_enc=None,
                        now=smtp_runtime.clock.now())
        assert repo.mark_verified("dev-1", step=1, make_default=True, now=smtp_runtime.clock.now())
    vid = send_code(client, env)
    status, body = signin(client, env, vid, smtp.last().code())
    assert status == 200 and body["user"]["scope"] == "requiresAdditionalAuth"  # type: ignore[index]
    headers = {"Authorization": f"Bearer {body['jwt']}"}
    assert client.get(env.sdk("/users"), headers=headers).json()["scope"] == "requiresAdditionalAuth"
    r = client.put(env.sdk("/users"), json={"alias": "x"}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "mfa_required"


def test_signup_enrollment_makes_new_users_enrol_first(
    client: TestClient, smtp: SmtpSink, smtp_runtime: Runtime
) -> None:
    env = make_environment(smtp_runtime, settings={"security": {"mfa": {"enrollment": "signup"}}})
    vid = send_code(client, env)
    status, body = signin(client, env, vid, smtp.last().code())
    assert status == 200 and body["user"]["scope"] == "requiresAdditionalAuth"  # type: ignore[index]


# --- the mailer itself ---------------------------------------------------------------------------


def test_smtp_mailer_logs_in_with_credentials() -> None:
    with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=sink.port, user="mailer", password="s3cret")).send(
            MailMessage(to="bob@example.com", subject="hi", text="code 123456")
        )
        assert sink.last().auth_user == "mailer" and sink.last().code() == "123456"


def test_smtp_mailer_refused_credentials_and_dead_server_are_503() -> None:
    from actionmfa.errors import EmailDeliveryError

    message = MailMessage(to="bob@example.com", subject="hi", text="x")
    with SmtpSink(credentials=("mailer", "s3cret")) as sink, pytest.raises(EmailDeliveryError) as err:
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=sink.port, user="mailer", password="wrong")).send(message)
    assert err.value.code == "email_delivery_failed" and err.value.status == 503
    with pytest.raises(EmailDeliveryError):
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=free_port(), timeout_seconds=2)).send(message)


def test_mailer_choice_and_log_sink(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = ServerConfig(data_dir=tmp_path)
    assert isinstance(mailer_for(replace(base, mail_log=True)), LogMailer)
    assert isinstance(mailer_for(replace(base, smtp=SmtpConfig(host="127.0.0.1"))), SmtpMailer)
    assert isinstance(mailer_for(base), UnconfiguredMailer)
    with caplog.at_level("WARNING", logger="actionmfa.mail"):
        LogMailer().send(MailMessage(to="a@example.com", subject="s", text="your code 654321"))
    assert "654321" in caplog.text and "a@example.com" in caplog.text


def test_unconfigured_mail_is_503_not_silent(runtime: Runtime, tmp_path: Path) -> None:
    rt = Runtime.build(ServerConfig(data_dir=tmp_path), clock=runtime.clock, keyring=runtime.keyring, db=runtime.db)
    env = make_environment(rt)
    with TestClient(create_app(rt, migrate=False), raise_server_exceptions=False) as c:
        r = c.post(env.sdk("/emailVerifications/create"), json={"email": "a@example.com"})
    assert r.status_code == 503 and r.json()["code"] == "email_delivery_failed"


def test_starttls_verifies_the_certificate_then_logs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """STARTTLS against a real TLS-speaking SMTP server: refused while its certificate is not
    trusted (no silent downgrade), delivered with login once it is."""
    from actionmfa.errors import EmailDeliveryError
    from tests.mailsink import self_signed_tls

    context, cert = self_signed_tls(tmp_path)
    message = MailMessage(to="tls@example.com", subject="hi", text="code 246810")
    with SmtpSink(credentials=("mailer", "s3cret"), tls_context=context) as sink:
        config = SmtpConfig(host="127.0.0.1", port=sink.port, starttls=True, user="mailer", password="s3cret")
        with pytest.raises(EmailDeliveryError):
            SmtpMailer(config).send(message)
        without_tls = SmtpConfig(host="127.0.0.1", port=sink.port, user="mailer", password="s3cret")
        with pytest.raises(EmailDeliveryError):  # the server insists on STARTTLS
            SmtpMailer(without_tls).send(message)
        assert sink.received == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        SmtpMailer(config).send(message)
        assert sink.last().auth_user == "mailer" and sink.last().code() == "246810"


def test_display_name_names_the_app_and_cannot_break_the_mail_header(
    client: TestClient, smtp: SmtpSink, smtp_runtime: Runtime
) -> None:
    env = make_environment(
        smtp_runtime, "prod-eu-1", settings={"general": {"displayName": "Acme\nBcc: victim@example.com"}}
    )
    send_code(client, env, "a@example.com")
    mail = smtp.last()
    assert mail.rcpt_tos == ["a@example.com"] and mail.message["Bcc"] is None
    assert mail.message["Subject"].startswith("Your Acme Bcc: victim@example.com sign-in code")
    assert "prod-eu-1" not in mail.message.as_string()


def test_old_verifications_of_an_address_are_purged_on_its_next_code(
    client: TestClient, env: EnvFixture, smtp: SmtpSink, smtp_runtime: Runtime, clock: FrozenClock
) -> None:
    old = send_code(client, env, "purge@example.com")
    other = send_code(client, env, "other@example.com")
    clock.advance(minutes=20, seconds=1)  # expired (10 min) for longer than the send window (10 min)
    new = send_code(client, env, "purge@example.com")
    with smtp_runtime.db.read() as uow:
        ids = {row.id for row in uow.conn.execute(t.email_verifications.select())}
    assert ids == {other, new} and old not in ids
