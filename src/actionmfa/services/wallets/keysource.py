"""The wallet's supply of Paillier keys (each with ring-Pedersen parameters, Πmod and Πprm): a
bounded background pool (:class:`actionmfa.wallet.keypool.KeyPool`) started on first use, or at
start-up to warm it. Also the cache of client ring-Pedersen parameters already checked.

Key generation and refresh each take a key that no other wallet ever had; a reshare takes one or two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from actionmfa.wallet.keypool import KeyPool, ProcessKeyGenerator, default_paillier_generator
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier, VerifiedRings

KeyGenerator = Callable[[], PreparedPaillier]
DEFAULT_POOL_SIZE = 4
TAKE_WAIT_SECONDS = 30.0


class PaillierKeys:
    def __init__(self, *, size: int = DEFAULT_POOL_SIZE, generator: KeyGenerator | None = None) -> None:
        self.size = size
        self._generator = generator
        self._owned: ProcessKeyGenerator | None = None  # the default generator, closed with the pool
        self._pool: KeyPool[PreparedPaillier] | None = None
        self._lock = threading.Lock()  # two first requests at once must not build two pools
        self.rings = VerifiedRings()  # client ring-Pedersen parameters whose Πprm was checked

    def check_ring(self, ring: ClientRing) -> None:
        """Verify a client's ring-Pedersen parameters (Πprm) once per parameters; call it outside
        any database transaction (128 rounds cost a few hundred milliseconds)."""
        self.rings.check(ring)

    def use(self, generator: KeyGenerator, *, size: int | None = None) -> None:
        """Generate with ``generator`` from now on (tests and benchmarks inject fast or fixed keys);
        a pool already running is told to stop and its keys are dropped. Returns at once: the old
        filler is not joined (it may be in the middle of a 2048-bit search, seconds long), and the
        default generator's child, if one was running, is killed so that search ends now."""
        with self._lock:
            pool, self._pool = self._pool, None
            owned, self._owned = self._owned, None
            self._generator = generator
            if size is not None:
                self.size = size
        if pool is not None:
            pool.request_stop()
        if owned is not None:
            owned.close()

    @property
    def pool(self) -> KeyPool[PreparedPaillier] | None:
        """The running pool, if one was started."""
        return self._pool

    def start(self) -> KeyPool[PreparedPaillier]:
        """The pool, started now if it is not running yet (the first prime search begins at once)."""
        with self._lock:
            if self._pool is None:
                generator = self._generator
                if generator is None:
                    self._owned = default_paillier_generator()
                    generator = self._generator = self._owned
                self._pool = KeyPool(generator, size=self.size).start()
            return self._pool

    def take(self) -> PreparedPaillier:
        """A fresh key: from the pool, after waiting up to 30 s for it, else generated inline."""
        return self.start().take(wait=TAKE_WAIT_SECONDS)

    def take_spare(self, reserve: int) -> PreparedPaillier | None:
        """A key only if the pool has more than ``reserve`` ready (no waiting, no inline search)."""
        return self.start().take_spare(reserve)

    def put(self, key: PreparedPaillier) -> None:
        """Give back a key that was taken but never used (the ceremony did not open)."""
        self.start().put(key)

    def close(self) -> None:
        """Stop the pool and kill the default generator's child process (at shutdown): the filler
        is told to stop first, so the child's death ends its wait instead of being retried."""
        with self._lock:
            pool, self._pool = self._pool, None
            owned, self._owned = self._owned, None
        if pool is not None:
            pool.request_stop()
        if owned is not None:
            owned.close()
            if self._generator is owned:
                self._generator = None
        if pool is not None:
            pool.stop()

    def child_pid(self) -> int | None:
        """The key-pool child's pid, if the default generator has one running (tests, operations)."""
        owned = self._owned
        return owned.child_pid if owned is not None else None
