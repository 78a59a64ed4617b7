"""The request thread pool: a request's blocking work (database, use cases) off the event loop.

FastAPI runs a plain ``def`` route or dependency through ``anyio.to_thread.run_sync`` — a cancel
scope, a capacity limiter and run-variable look-ups per call: ~260 µs of event-loop CPU per hop on
this project's 2-core VM, against ~85 µs for ``loop.run_in_executor`` with the context copied
(issue 15). A plain route with a ``response_model`` pays that hop a second time for validating its
answer. The hot routes and the session dependencies are therefore ``async def`` and hand their
blocking part to :func:`in_thread`: one cheap hop each, the answer validated on the loop.

The pool is the app's (``create_app`` makes it, the lifespan shuts it down) and has
``Database.request_threads`` threads, few on both databases (``store/db.py``): on SQLite they
queue for its one writer, on PostgreSQL each statement's round trip gives the GIL up and takes it
back, and every further runnable thread only took it from the others (anyio's limiter keeps
``config.REQUEST_THREADS`` for the remaining plain routes; the pool's queue is first come, first
served). Each thread holds at most one database connection at a time (``store/db.py`` sizes the
PostgreSQL pool for both).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import Request

P = ParamSpec("P")
T = TypeVar("T")


class RequestThreads:
    """A thread pool started at first use; :meth:`shutdown` stops it (a later use starts a new one,
    as an app whose lifespan is entered again — a test client's — needs)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="actionmfa-request")
                pool = self._pool
        return pool

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a pool thread, in a copy of the caller's context."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor(), call)

    def shutdown(self) -> None:
        """Stop taking work; threads finish what they run (in-flight requests were drained first)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


def request_threads(request: Request) -> RequestThreads:
    threads: RequestThreads = request.app.state.threads
    return threads


async def in_thread(request: Request, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the blocking ``fn`` of this request on the app's :class:`RequestThreads`."""
    return await request_threads(request).run(fn, *args, **kwargs)
