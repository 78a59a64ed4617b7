"""Email one-time-code sign-in (DESIGN §3 "User", §5 sign-in routes).

``create``: a 6-digit code, valid :data:`CODE_LIFETIME`, is stored only as a keyed hash bound to its
verification id and mailed to the address; the caller gets the ``verificationUUID``.
``sign_in``: the code is checked against that verification and, if right, spent by one conditional
UPDATE in the transaction that opens the session (a code signs in exactly once, even when two
workers see it at the same instant). The user is created on first sign-in.

Limits, each with its own stable error code:

* :data:`MAX_ATTEMPTS` tries per verification, reserved atomically *before* the comparison
  (``verification_attempts_exceeded``, 429);
* expired (``verification_expired``, 410), already used (``verification_used``, 410), unknown
  (``verification_not_found``, 404), wrong code (``invalid_verification_code``, 422);
* these failures never touch the user's MFA failure counter (DESIGN §8, issue 11.1): this route
  needs no session, so anyone who knows the address could otherwise lock the user out of TOTP,
  recovery codes and sign-in. Wrong codes are counted per address, per client and per (address,
  client) pair instead (:mod:`actionmfa.services.signin.throttle`: 429 ``signin_rate_limited``);
* codes mailed are limited per address, per client and per pair (``email_rate_limited``, 429), so
  the public route cannot be used to flood a mailbox, and one client cannot use up an address's
  budget (the real user's next code still goes out).
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring, constant_time_equal
from actionmfa.domain.models import RequestMeta
from actionmfa.errors import (
    ActionMFAError,
    InvalidRequestError,
    InvalidVerificationCodeError,
    VerificationAttemptsExceededError,
    VerificationExpiredError,
    VerificationNotFoundError,
    VerificationUsedError,
)
from actionmfa.services.core.environments import EnvironmentService
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import IssuedSession
from actionmfa.services.signin import throttle
from actionmfa.services.signin.accounts import Accounts, SignInMethod
from actionmfa.services.signin.mailer import Mailer, MailMessage
from actionmfa.services.signin.ports import SignInUnit

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
_HASH_PURPOSE = "email-code"
# Deliberately simple: one "@", no spaces, a dot in the domain. Deliverability is what proves it.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 320 or not _EMAIL_RE.match(email):
        raise InvalidRequestError("email: not a valid email address", field="email")
    return email


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class SentVerification:
    verification_id: str
    email: str


class EmailSignIn:
    def __init__(
        self,
        db: Transactions[SignInUnit],
        keyring: Keyring,
        clock: Clock,
        environments: EnvironmentService,
        accounts: Accounts,
        mailer: Mailer,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.environments = environments
        self.accounts = accounts
        self.mailer = mailer  # replaceable: tests swap in a recording mailer

    def _code_hash(self, verification_id: str, code: str) -> str:
        # Bound to the verification id: a stored hash is useless for any other verification.
        return self.keyring.keyed_hash(f"{verification_id}:{code}", purpose=_HASH_PURPOSE)

    def create(self, environment_id: str, raw_email: str, meta: RequestMeta | None = None) -> SentVerification:
        """Store a new code for ``raw_email`` and mail it. The row is committed before the mail goes
        out so no database lock is held across the SMTP exchange."""
        email = normalize_email(raw_email)
        code = new_code()
        verification_id = str(uuid.uuid4())
        now = self.clock.now()
        with self.db.write() as uow:
            env = self.environments.get(uow, environment_id)
            throttle.check_send(uow, env.id, email, throttle.client_of(meta), now)
            uow.email_verifications.purge_for_email(env.id, email, now)
            uow.email_verifications.add(
                id=verification_id,
                environment_id=env.id,
                email=email,
                code_hash=self._code_hash(verification_id, code),
                now=now,
                expires_at=now + CODE_LIFETIME,
            )
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        name = env.settings.app_name()  # the app's display name (one line), not the environment's label
        self.mailer.send(
            MailMessage(
                to=email,
                subject=f"Your {name} sign-in code: {code}",
                text=(
                    f"Your sign-in code for {name} is:\n\n    {code}\n\n"
                    f"It expires in {minutes} minutes and can be used once.\n"
                    "If you did not ask for it, ignore this message.\n"
                ),
            )
        )
        return SentVerification(verification_id=verification_id, email=email)

    def sign_in(
        self, environment_id: str, verification_id: str, code: str, meta: RequestMeta | None = None
    ) -> IssuedSession:
        """Check ``code`` against the verification and open a session for its address."""
        code = code.strip()
        failure: ActionMFAError | None = None
        issued: IssuedSession | None = None
        client = throttle.client_of(meta)
        # One transaction per try. A wrong code must still commit its counted try (and the counted
        # failure), so the error is raised only after the transaction has ended.
        with self.db.write() as uow:
            env = self.environments.get(uow, environment_id)
            now = self.clock.now()
            throttle.check_client(uow, env.id, client, now)
            row = uow.email_verifications.get(env.id, verification_id)
            if row is None:
                raise VerificationNotFoundError()
            if row.used_at is not None:
                raise VerificationUsedError()
            if now >= row.expires_at:
                raise VerificationExpiredError()
            throttle.check_address(uow, env.id, row.email, client, now)
            if not uow.email_verifications.take_attempt(row.id, MAX_ATTEMPTS):
                raise VerificationAttemptsExceededError()
            if not (code.isdigit() and constant_time_equal(self._code_hash(row.id, code), row.code_hash)):
                throttle.failed(uow, env.id, throttle.AttemptKind.CODE_FAILED, client, now, email=row.email)
                failure = InvalidVerificationCodeError()
            elif not uow.email_verifications.mark_used(row.id, now):
                raise VerificationUsedError()  # another request spent it first
            else:
                user, created = self.accounts.find_or_create_user(uow, env, email=row.email)
                issued = self.accounts.open_session(
                    uow, env, user, method=SignInMethod.EMAIL, created=created,
                    client_address=meta.client_address if meta else None,
                )
        if failure is not None:
            raise failure
        assert issued is not None  # noqa: S101
        return issued
