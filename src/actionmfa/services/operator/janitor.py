"""The janitor (issue 11.4 / 11.7): expired rows are purged on a schedule, not only when a user
happens to come back.

Every worker runs a :class:`JanitorThread`; each sweep is one write transaction that first claims
the ``janitor`` lock without waiting (``pg_try_advisory_xact_lock`` on PostgreSQL; SQLite's single
writer), so sweeps never run twice at once — a worker that finds the lock taken skips its turn.
One sweep deletes, as of the injected clock's ``now``:

* wallet ceremonies that expired more than :data:`CEREMONY_GRACE` ago (abandoned or finished;
  their sealed round state goes with them) — before this, only a new wallet creation purged them;
* MFA and elevated tokens that can never be accepted again (expired, spent single-use, or of a
  session that ended);
* email verifications past their expiry, sign-in limit events past their window, and passkey
  challenges past their expiry.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from actionmfa.clock import Clock
from actionmfa.services.core.ports import Transactions

log = logging.getLogger("actionmfa.janitor")

INTERVAL_SECONDS = 300.0
CEREMONY_GRACE = timedelta(hours=1)  # = the wallet area's PURGE_AFTER_SECONDS
SIGNIN_WINDOW = timedelta(hours=1)  # = services/signin/throttle.py WINDOW
LOCK_NAME = "actionmfa:janitor"


class _Wallets(Protocol):
    def purge_expired(self, *, before: datetime) -> int: ...


class _Tokens(Protocol):
    def purge_expired(self, now: datetime) -> int: ...


class _Verifications(Protocol):
    def purge_expired(self, before: datetime) -> int: ...


class _Attempts(Protocol):
    def purge(self, before: datetime) -> int: ...


class _Passkeys(Protocol):
    def purge_challenges(self, before: datetime) -> None: ...


class JanitorUnit(Protocol):
    def try_lock(self, name: str) -> bool: ...

    @property
    def wallets(self) -> _Wallets: ...

    @property
    def tokens(self) -> _Tokens: ...

    @property
    def email_verifications(self) -> _Verifications: ...

    @property
    def signin_attempts(self) -> _Attempts: ...

    @property
    def passkeys(self) -> _Passkeys: ...


@dataclass(frozen=True)
class Sweep:
    ran: bool  # false: another worker held the lock
    ceremonies: int = 0
    tokens: int = 0
    verifications: int = 0
    signin_events: int = 0


class Janitor:
    def __init__(self, db: Transactions[JanitorUnit], clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def sweep(self) -> Sweep:
        """One sweep now (skipped if another worker's sweep holds the lock)."""
        with self.db.write() as uow:
            if not uow.try_lock(LOCK_NAME):
                return Sweep(ran=False)
            now = self.clock.now()
            result = Sweep(
                ran=True,
                ceremonies=uow.wallets.purge_expired(before=now - CEREMONY_GRACE),
                tokens=uow.tokens.purge_expired(now),
                verifications=uow.email_verifications.purge_expired(now),
                signin_events=uow.signin_attempts.purge(now - SIGNIN_WINDOW),
            )
            uow.passkeys.purge_challenges(now)
        return result


class JanitorThread:
    """Runs :meth:`Janitor.sweep` every ``interval`` seconds in a daemon thread of this worker."""

    def __init__(self, janitor: Janitor, *, interval: float = INTERVAL_SECONDS) -> None:
        self.janitor = janitor
        self.interval = interval
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="actionmfa-janitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                result = self.janitor.sweep()
            except Exception:  # a failed sweep is retried next interval; it must not kill the thread
                log.exception("janitor sweep failed")
                continue
            self.sweeps += 1
            if result.ran:
                log.info("janitor: purged %s", result)
