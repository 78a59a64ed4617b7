"""Limits of the unauthenticated sign-in routes, apart from the MFA lockout (DESIGN §8, issue 11.1).

Routes that need no session (``emailVerifications/create``, ``emailVerifications/signin``,
``externalAuth/signin``) can be called by anyone who knows an address. Their failures are counted
here — per verification (five tries, :mod:`actionmfa.services.signin.email`), per address, per
client (IP) and per (address, client) pair — and **never** touch the user's MFA failure counter
(:mod:`actionmfa.services.mfa.lockout`), which only a session holder can feed. So a stranger can
neither lock a user's TOTP, recovery codes or passkeys, nor (from one client) keep the user's own
email sign-in closed: the per-pair limits stop one client well before the per-address limits,
which only a distributed guesser reaches (the shape of Auth0's "brute-force protection": a block
applies to the attacking client and account together, not to the account).

Every limit is a sliding :data:`WINDOW` over rows of ``signin_attempts`` in the database, so all
workers share it; count-then-add runs under a transaction lock on the client and the address
(``pg_advisory_xact_lock`` on PostgreSQL, the write lock on SQLite), taken in that order, so
concurrent requests are counted exactly. A refusal answers 429: ``email_rate_limited`` for codes
sent, ``signin_rate_limited`` for failures. It lasts until the oldest counted event leaves the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from actionmfa.domain.models import RequestMeta
from actionmfa.errors import EmailRateLimitedError, SignInRateLimitedError

WINDOW = timedelta(hours=1)

# Codes mailed per window. One client alone cannot use up an address's budget (5 < 15).
SENDS_PER_ADDRESS_CLIENT = 5
SENDS_PER_ADDRESS = 15
SENDS_PER_CLIENT = 50
# Wrong codes (and failed external sign-ins, per client) per window. One client alone cannot reach
# an address's limit (10 < 30); the address's limit bounds a distributed guesser to 30 guesses an
# hour at a 6-digit code (the old per-user lockout allowed 20).
FAILURES_PER_ADDRESS_CLIENT = 10
FAILURES_PER_ADDRESS = 30
FAILURES_PER_CLIENT = 50

UNKNOWN_CLIENT = "unknown"


class AttemptKind(StrEnum):
    """``signin_attempts.kind``."""

    CODE_SENT = "code_sent"
    CODE_FAILED = "code_failed"
    EXTERNAL_FAILED = "external_failed"


_FAILURES = (AttemptKind.CODE_FAILED.value, AttemptKind.EXTERNAL_FAILED.value)
_SENDS = (AttemptKind.CODE_SENT.value,)


class AttemptStore(Protocol):
    def serialize(self, key: str) -> None: ...

    def add(self, *, environment_id: str, kind: str, email: str | None, client: str, at: datetime) -> None: ...

    def count(
        self,
        environment_id: str,
        kinds: tuple[str, ...],
        since: datetime,
        *,
        email: str | None = None,
        client: str | None = None,
    ) -> int: ...

    def purge(self, before: datetime) -> int: ...


class ThrottleUnit(Protocol):
    @property
    def signin_attempts(self) -> AttemptStore: ...


def client_of(meta: RequestMeta | None) -> str:
    """The client key: the request's address (behind a proxy, see ``ACTIONMFA_TRUST_PROXY_HEADERS``)."""
    address = meta.client_address if meta is not None else None
    return (address or UNKNOWN_CLIENT)[:64]


def hold_client(uow: ThrottleUnit, environment_id: str, client: str) -> None:
    uow.signin_attempts.serialize(f"signin:{environment_id}:client:{client}")


def hold_address(uow: ThrottleUnit, environment_id: str, email: str) -> None:
    uow.signin_attempts.serialize(f"signin:{environment_id}:email:{email}")


def check_send(uow: ThrottleUnit, environment_id: str, email: str, client: str, now: datetime) -> None:
    """Refuse (429 ``email_rate_limited``) or count one code sent. Holds client, then address."""
    store, since = uow.signin_attempts, now - WINDOW
    hold_client(uow, environment_id, client)
    hold_address(uow, environment_id, email)
    if (
        store.count(environment_id, _SENDS, since, client=client) >= SENDS_PER_CLIENT
        or store.count(environment_id, _SENDS, since, email=email, client=client) >= SENDS_PER_ADDRESS_CLIENT
        or store.count(environment_id, _SENDS, since, email=email) >= SENDS_PER_ADDRESS
    ):
        raise EmailRateLimitedError()
    store.add(environment_id=environment_id, kind=AttemptKind.CODE_SENT, email=email, client=client, at=now)


def check_client(uow: ThrottleUnit, environment_id: str, client: str, now: datetime) -> None:
    """Refuse (429 ``signin_rate_limited``) a client with too many recent failures. Holds the client."""
    hold_client(uow, environment_id, client)
    if uow.signin_attempts.count(environment_id, _FAILURES, now - WINDOW, client=client) >= FAILURES_PER_CLIENT:
        raise SignInRateLimitedError()


def check_address(uow: ThrottleUnit, environment_id: str, email: str, client: str, now: datetime) -> None:
    """Refuse (429 ``signin_rate_limited``) code checks for an address this client (or everyone
    together) failed too often. Call after :func:`check_client`; holds the address."""
    store, since = uow.signin_attempts, now - WINDOW
    hold_address(uow, environment_id, email)
    if (
        store.count(environment_id, _FAILURES, since, email=email, client=client) >= FAILURES_PER_ADDRESS_CLIENT
        or store.count(environment_id, _FAILURES, since, email=email) >= FAILURES_PER_ADDRESS
    ):
        raise SignInRateLimitedError()


def failed(
    uow: ThrottleUnit, environment_id: str, kind: AttemptKind, client: str, now: datetime, *, email: str | None = None
) -> None:
    """Count one failure (commit it before answering: a failure that rolled back would not count)."""
    uow.signin_attempts.add(environment_id=environment_id, kind=kind, email=email, client=client, at=now)


def purge(uow: ThrottleUnit, now: datetime) -> int:
    """Drop events that left the window (the janitor's job)."""
    return uow.signin_attempts.purge(now - WINDOW)
