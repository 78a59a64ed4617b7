"""A fair share of the Paillier key pool for wallet creation (issue 11.2).

Each ``POST /waas/create`` consumes one pooled Paillier key (seconds of prime search to replace) and
holds a request thread while it waits for one. Unbounded, 14 self-registered users holding 3
unfinished creations each drained the pool: a victim's creation took 22 s and 15 of 42 requests were
unanswered after 120 s. The rules (:class:`actionmfa.services.wallets.keygen.Keygen` applies them):

* a user with **no unfinished creation in the last** :data:`PRIORITY_WINDOW` (none open, none
  abandoned) has priority: the creation may take any ready key, the reserve included, or wait for
  one (up to 30 s, then the key is searched inline) — but only one per user and
  :data:`MAX_WAITING_PER_ENVIRONMENT` per environment wait at once on a worker; more answer 429
  ``wallet_creation_busy`` at once;
* any other creation (the user has one open, or abandoned one within the window) gets a key only if
  the pool has more than :data:`POOL_RESERVE` ready — it never waits and never takes the reserve
  (else 429 ``wallet_creation_busy``). So users who finish their creations always find the reserve,
  and an abandoning user costs the pool one key an hour at most beyond the spares;
* at most ``MAX_OPEN_KEYGENS_PER_USER`` unfinished creations per user (429 ``wallet_limit_reached``)
  and, for every kind of ceremony, ``MAX_OPEN_CEREMONIES_PER_USER`` / ``_PER_ENVIRONMENT`` (429
  ``ceremony_limit_reached``), counted in the database in the opening transaction.

The pool and the waiting requests belong to one worker process, so the waiting caps are per worker;
the caps on open ceremonies are rows in the database, shared by every worker.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from actionmfa.errors import WalletCreationBusyError

POOL_RESERVE = 2
PRIORITY_WINDOW = timedelta(hours=1)  # = the purge age of expired ceremony rows
MAX_WAITING_PER_USER = 1
MAX_WAITING_PER_ENVIRONMENT = 4


class CreationsInFlight:
    """Wallet creations of this worker waiting for a Paillier key, per user and per environment."""

    def __init__(self, *, per_user: int = MAX_WAITING_PER_USER, per_environment: int = MAX_WAITING_PER_ENVIRONMENT):
        self.per_user = per_user
        self.per_environment = per_environment
        self._users: Counter[str] = Counter()
        self._environments: Counter[str] = Counter()
        self._lock = threading.Lock()

    def waiting(self, environment_id: str) -> int:
        with self._lock:
            return self._environments[environment_id]

    @contextmanager
    def slot(self, environment_id: str, user_id: str) -> Iterator[None]:
        """Hold one waiting slot for the duration of the block, or refuse at once."""
        with self._lock:
            if self._users[user_id] >= self.per_user:
                raise WalletCreationBusyError("This user's previous wallet creation is still waiting for a key")
            if self._environments[environment_id] >= self.per_environment:
                raise WalletCreationBusyError()
            self._users[user_id] += 1
            self._environments[environment_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._users[user_id] -= 1
                self._environments[environment_id] -= 1
                if self._users[user_id] <= 0:
                    del self._users[user_id]
                if self._environments[environment_id] <= 0:
                    del self._environments[environment_id]
