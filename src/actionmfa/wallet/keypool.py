"""A bounded background pool of pre-generated Paillier keys (with ring-Pedersen parameters, Πmod and Πprm).

Prime search for a 2048-bit Blum modulus takes from 0.2 s to several seconds; a wallet creation
that had to wait for it would have an unpredictable latency. A daemon thread keeps up to ``size``
keys ready; :meth:`KeyPool.take` hands one out (each key is used for exactly one wallet) and falls
back to generating inline when the pool is empty. The generator is injectable so that tests can
use small or precomputed keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from actionmfa.wallet.ecdsa2p import PreparedPaillier

__all__ = ["KeyPool", "ProcessKeyGenerator", "default_paillier_generator"]

T = TypeVar("T")


class ProcessKeyGenerator:
    """Runs the prime search and the Πmod proof in one child process (:mod:`actionmfa.wallet.keychild`).

    The pool's thread only waits on the child, so the server's request threads never compete with
    the search for the GIL. The child is a plain subprocess on two pipes (no multiprocessing: no
    semaphores, no resource tracker) that dies with this process (PR_SET_PDEATHSIG and a parent
    watchdog) and is killed by :meth:`close`. If it cannot be started or dies, the next key is
    searched in a new child, then in-thread.
    """

    def __init__(self, bits: int = 2048, *, safe_primes: bool = True) -> None:
        self.bits = bits
        self.safe_primes = safe_primes
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def child_pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def _spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "actionmfa.wallet.keychild", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, close_fds=True,
        )

    def _ask(self) -> dict[str, Any] | None:
        with self._lock:
            if self._closed:
                raise KeyPoolClosedError()
            if self._child is None or self._child.poll() is not None:
                self._child = self._spawn()
            child = self._child
        assert child.stdin is not None and child.stdout is not None  # noqa: S101 - PIPE above
        try:
            child.stdin.write(f"{self.bits} {int(self.safe_primes)}\n")
            child.stdin.flush()
            line = child.stdout.readline()
        except (OSError, ValueError):
            line = ""
        if not line:
            if self._closed:
                raise KeyPoolClosedError()
            with self._lock:
                if self._child is child:
                    self._child = None
            return None
        doc: dict[str, Any] = json.loads(line)
        return doc

    def __call__(self) -> PreparedPaillier:
        for _ in range(2):
            try:
                doc = self._ask()
            except OSError:
                doc = None
            if doc is not None:
                return PreparedPaillier.from_json(doc)
        return PreparedPaillier.generate(self.bits, safe_primes=self.safe_primes)

    def close(self) -> None:
        """Kill the child (a search in progress is abandoned) and reap it."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait(timeout=10)
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


class KeyPoolClosedError(RuntimeError):
    """The generator was closed (the server is shutting down)."""


def default_paillier_generator() -> ProcessKeyGenerator:
    """Production default: 2048-bit moduli of two safe primes p ≡ q ≡ 3 (mod 4), with Πmod,
    generated in a child process (~1–12 s per key on a 2-core box, hence the pool)."""
    return ProcessKeyGenerator(2048, safe_primes=True)


class KeyPool(Generic[T]):
    """Thread-safe, bounded pool filled by one background thread."""

    def __init__(self, generator: Callable[[], T], *, size: int = 4) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._generator = generator
        self.size = size
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.generated = 0
        self.inline_fallbacks = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def start(self) -> KeyPool[T]:
        with self._cond:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="paillier-keypool", daemon=True)
                self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the filler to stop (without waiting), e.g. before closing its generator."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)

    def put(self, item: T) -> None:
        """Add an item (e.g. a precomputed test key); ignored when the pool is full."""
        with self._cond:
            if len(self._items) < self.size:
                self._items.append(item)
                self._cond.notify_all()

    def take(self, *, wait: float = 0.0) -> T:
        """A ready item; waits up to ``wait`` seconds for the filler, then generates inline."""
        with self._cond:
            if not self._items and wait > 0 and self._thread is not None:
                self._cond.wait_for(lambda: bool(self._items), timeout=wait)
            if self._items:
                item = self._items.popleft()
                self._cond.notify_all()  # wake the filler
                return item
        self.inline_fallbacks += 1
        return self._generator()

    def take_spare(self, reserve: int) -> T | None:
        """A ready item only while more than ``reserve`` are ready; never waits, never generates."""
        with self._cond:
            if len(self._items) > reserve:
                item = self._items.popleft()
                self._cond.notify_all()
                return item
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: len(self._items) < self.size or self._stop.is_set())
            if self._stop.is_set():
                return
            try:
                item = self._generator()
            except Exception:
                if self._stop.is_set():  # the generator was closed under us at shutdown
                    return
                raise
            self.generated += 1
            with self._cond:
                if len(self._items) < self.size:
                    self._items.append(item)
                    self._cond.notify_all()
