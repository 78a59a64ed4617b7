"""Bounded HTTP connections for uvicorn (issue 11.2): what uvicorn 0.54 does not do by itself.

uvicorn closes a connection that is idle *after* a response (``timeout_keep_alive``), but it arms
no timer on a connection that never completes a request: measured, 1,124 plain TCP connects (or
connections that send half a header, or a 60-byte body over 60 s) stay open for as long as the
client likes, and with ``ulimit -n 1024`` the accept loop hits EMFILE and ``/health`` goes down.
``limit_concurrency`` answers 503 only once a request's headers are in, so it frees nothing.

:class:`BoundedHttpToolsProtocol` is uvicorn's httptools protocol with

* a **header deadline** — the request line and headers must be complete within
  ``header_timeout`` seconds of the connection opening (or of the previous response on a
  keep-alive connection), else 408 and close (slow-loris);
* a **header size cap** — more than ``max_header_bytes`` before the headers end is 431 and close;
* a **body deadline** — the whole body must arrive within ``body_timeout`` seconds of the headers,
  else 408 (if no response started) and close; the route sees a disconnect;
* a **connection cap** per worker and per client address (the TCP peer, not a forwarded header):
  a connection over either cap is answered at once with 503 ``too_many_connections``
  (``Connection: close``, ``Retry-After``) and closed, so its descriptor is released immediately
  and the accept loop never runs out of descriptors as long as the limit of open files exceeds
  the cap (see :func:`descriptor_budget`).

The keep-alive idle timeout stays uvicorn's own (``keep_alive_timeout``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("actionmfa.connections")

DB_AND_RUNTIME_DESCRIPTORS = 128  # per worker: database pool, key-pool pipes, logs, listening socket


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_connections: int = 800  # per worker process
    max_connections_per_client: int = 64  # 0 = no per-client cap (behind a proxy every peer is the proxy)
    max_header_bytes: int = 64 * 1024


def _raw_response(status: int, reason: str, code: str, message: str, *extra: tuple[str, str]) -> bytes:
    body = json.dumps({"error": message, "code": code}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "content-type: application/json", f"content-length: {len(body)}",
            "connection: close", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


REFUSED = _raw_response(503, "Service Unavailable", "too_many_connections", "Too many connections; retry later",
                        ("retry-after", "1"))
HEADER_TIMEOUT = _raw_response(408, "Request Timeout", "request_timeout", "Request headers not received in time")
BODY_TIMEOUT = _raw_response(408, "Request Timeout", "request_timeout", "Request body not received in time")
HEADERS_TOO_LARGE = _raw_response(431, "Request Header Fields Too Large", "headers_too_large",
                                  "Request headers too large")


LIMITS_ATTRIBUTE = "actionmfa_connection_limits"


def attach(config: uvicorn.Config, limits: ConnectionLimits) -> uvicorn.Config:
    """Serve ``config`` with :class:`BoundedHttpToolsProtocol` under ``limits``. The limits ride on
    the uvicorn config object, which ``--workers N`` pickles into every worker process."""
    config.http = BoundedHttpToolsProtocol
    config.timeout_keep_alive = limits.keep_alive_timeout
    setattr(config, LIMITS_ATTRIBUTE, limits)
    return config


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines and caps (:func:`attach` installs it)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: ConnectionLimits = getattr(config, LIMITS_ATTRIBUTE, None) or ConnectionLimits()
        self._deadline: asyncio.TimerHandle | None = None
        self._expiry: tuple[float, bytes] = (0.0, HEADER_TIMEOUT)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._peer: str | None = None
        self._refused = False

    def _per_client(self) -> Counter[str]:
        counts: Counter[str] | None = getattr(self.server_state, "actionmfa_per_client", None)
        if counts is None:
            counts = Counter()
            self.server_state.actionmfa_per_client = counts  # type: ignore[attr-defined]
        return counts

    # -- deadlines ----------------------------------------------------------------------------
    # One timer handle per connection phase, not per deadline: the body deadline set when the
    # headers end only moves the expiry (``_expiry``) later, and the timer already armed for the
    # header deadline re-arms itself for the rest when it fires early. A request whose headers and
    # body arrive together (nearly all of them) so costs one ``call_at``, not two.
    def _arm(self, seconds: float, answer: bytes) -> None:
        when = self.loop.time() + seconds
        self._expiry = (when, answer)
        if self._deadline is not None and self._deadline.when() <= when:
            return  # the armed timer fires first and re-arms for what is left
        self._disarm()
        self._deadline = self.loop.call_at(when, self._fire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _fire(self) -> None:
        when, answer = self._expiry
        if self.loop.time() < when:  # the deadline moved on since this timer was armed
            self._deadline = self.loop.call_at(when, self._fire)
            return
        self._deadline = None
        self._expire(answer)

    def _expire(self, answer: bytes) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(answer)
        self.transport.close()

    # -- protocol hooks -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.limits
        self._peer = self.client[0] if self.client else None
        per_client = self._per_client()
        if self._peer is not None:
            per_client[self._peer] += 1
        over_total = len(self.connections) > limits.max_connections
        over_client = bool(
            limits.max_connections_per_client
            and self._peer is not None
            and per_client[self._peer] > limits.max_connections_per_client
        )
        if over_total or over_client:
            self._refused = True
            transport.write(REFUSED)
            transport.close()
            return
        self._arm(limits.header_timeout, HEADER_TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None:
            per_client = self._per_client()
            per_client[self._peer] -= 1
            if per_client[self._peer] <= 0:
                del per_client[self._peer]
            self._peer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        too_large = self._awaiting_headers and self._header_bytes > self.limits.max_header_bytes
        if too_large and not self.transport.is_closing():
            self._disarm()
            self.transport.write(HEADERS_TOO_LARGE)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a keep-alive connection's next request
            self._arm(self.limits.header_timeout, HEADER_TIMEOUT)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._arm(self.limits.body_timeout, BODY_TIMEOUT)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._awaiting_headers = True
        super().on_message_complete()


def descriptor_budget(limits: ConnectionLimits) -> int:
    """Open files one worker needs: its connection cap plus :data:`DB_AND_RUNTIME_DESCRIPTORS`."""
    return limits.max_connections + DB_AND_RUNTIME_DESCRIPTORS


def ensure_descriptors(limits: ConnectionLimits) -> ConnectionLimits:
    """Raise the soft ``RLIMIT_NOFILE`` toward the hard limit if the cap needs it; if even the hard
    limit is too small, lower the cap to fit (with a warning) rather than let accept() hit EMFILE."""
    from dataclasses import replace

    need = descriptor_budget(limits)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < need:
        cap = max(1, soft - DB_AND_RUNTIME_DESCRIPTORS)
        log.warning(
            "open-file limit %d is below the %d this worker needs; connection cap lowered from %d to %d "
            "(raise `ulimit -n`)", soft, need, limits.max_connections, cap,
        )
        return replace(limits, max_connections=cap)
    return limits
