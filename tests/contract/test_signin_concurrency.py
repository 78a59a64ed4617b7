"""Email sign-in under concurrency, on SQLite and PostgreSQL: exact try budget, single use, one user."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from actionmfa.services.runtime import Runtime
from actionmfa.services.signin.mailer import MailMessage
from tests.concurrency import race
from tests.conftest import make_environment


@dataclass
class Outbox:
    """A recording mailer (the SMTP path itself is covered in tests/api/test_email_signin.py)."""

    sent: list[MailMessage] = field(default_factory=list)

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)

    def code(self) -> str:
        return self.sent[-1].subject.rsplit(" ", 1)[-1]




def test_a_code_signs_in_exactly_once(runtime_any: Runtime) -> None:
    outbox = Outbox()
    runtime_any.mailer = outbox
    env = make_environment(runtime_any)
    sent = runtime_any.services.signin.email.create(env.id, "race@example.com")
    outcomes = race(6, lambda: runtime_any.services.signin.email.sign_in(env.id, sent.verification_id, outbox.code()))
    assert outcomes["ok"] == 1
    assert set(outcomes) <= {"ok", "verification_used", "verification_attempts_exceeded"}


def test_the_try_budget_is_exact_under_concurrent_guesses(runtime_any: Runtime) -> None:
    outbox = Outbox()
    runtime_any.mailer = outbox
    env = make_environment(runtime_any)
    sent = runtime_any.services.signin.email.create(env.id, "guess@example.com")
    wrong = f"{(int(outbox.code()) + 1) % 1_000_000:06d}"
    outcomes = race(10, lambda: runtime_any.services.signin.email.sign_in(env.id, sent.verification_id, wrong))
    assert outcomes == Counter({"invalid_verification_code": 5, "verification_attempts_exceeded": 5})


def test_concurrent_first_sign_ins_create_one_user(runtime_any: Runtime) -> None:
    outbox = Outbox()
    runtime_any.mailer = outbox
    env = make_environment(runtime_any)
    pending = []
    for _ in range(4):
        sent = runtime_any.services.signin.email.create(env.id, "new@example.com")
        pending.append((sent.verification_id, outbox.code()))
    users: list[str] = []
    lock = threading.Lock()
    queue = iter(pending)

    def sign_in() -> None:
        with lock:
            vid, code = next(queue)
        issued = runtime_any.services.signin.email.sign_in(env.id, vid, code)
        with lock:
            users.append(issued.user.id)

    assert race(4, sign_in) == Counter({"ok": 4})
    assert len(set(users)) == 1


def test_the_per_client_address_limit_is_exact_under_concurrent_guesses(runtime_any: Runtime) -> None:
    """Three verifications (15 tries) of one address from one client, guessed all at once: the
    pair's limit (10 failures) holds exactly on every backend (count-then-add under a lock)."""
    from actionmfa.domain.models import RequestMeta
    from actionmfa.services.signin import throttle

    outbox = Outbox()
    runtime_any.mailer = outbox
    env = make_environment(runtime_any)
    meta = RequestMeta(client_address="203.0.113.5")
    email = runtime_any.services.signin.email
    guesses = []
    for _ in range(3):
        sent = email.create(env.id, "pair@example.com", meta)
        guesses += [(sent.verification_id, f"{(int(outbox.code()) + 1) % 1_000_000:06d}")] * 5
    queue = iter(guesses)
    lock = threading.Lock()

    def one() -> None:
        with lock:
            vid, code = next(queue)
        email.sign_in(env.id, vid, code, meta)

    outcomes = race(len(guesses), one)
    limit = throttle.FAILURES_PER_ADDRESS_CLIENT
    assert outcomes == Counter({"invalid_verification_code": limit, "signin_rate_limited": len(guesses) - limit})
