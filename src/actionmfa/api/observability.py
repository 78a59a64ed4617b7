"""Pure ASGI middleware: one structured log line and the HTTP metrics per request, and a request id.

The request id is the caller's ``X-Request-ID`` when it is short and plain (``[A-Za-z0-9._-]``, at
most 64 characters: a log line must not carry what a caller smuggles in), else a fresh random one;
it is echoed in the response's ``X-Request-ID`` header. The route is the matched route's full
template (FastAPI sets ``scope["route"]`` to the router's route; ``create_app`` maps each to its
prefix + path); unmatched requests are ``<unmatched>``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable

from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actionmfa.api.metrics import UNMATCHED, Metrics

log = logging.getLogger("actionmfa.request")
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def fastapi_telemetry(environment: Iterable[str]) -> TelemetryConfig | None:
    """FastAPI's own OpenTelemetry (``FastAPI(telemetry=…)``), given the names of the environment.

    FastAPI 0.165 asks on every request whether an OpenTelemetry provider is configured (~4 µs of
    event-loop CPU, issue 15); none is unless an operator sets OpenTelemetry up (the SDK is not a
    dependency), and ActionMFA's logs and metrics are its own (this module, :mod:`.metrics`). So
    it is off, unless the environment names any ``OTEL_…`` or ``FASTAPI_OTEL_…`` setting (as
    ``opentelemetry-instrument`` and FastAPI's ``FASTAPI_OTEL_AUTO_CONFIGURE`` do): then FastAPI's
    defaults stand."""
    if any(name.startswith(("OTEL_", "FASTAPI_OTEL_")) for name in environment):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            try:
                text = bytes(value).decode("ascii")
            except UnicodeDecodeError:
                break
            if _PLAIN_ID.fullmatch(text):
                return str(text)
            break
    return uuid.uuid4().hex


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics, templates: dict[int, str]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates  # id(route) -> full template (a router's own path lacks its prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            matched = scope.get("route")
            route = self.templates.get(id(matched), UNMATCHED) if matched is not None else UNMATCHED
            method = str(scope.get("method", ""))
            self.metrics.observe_request(method, route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                # ``log.info`` would also walk the stack for the caller's file and line (findCaller):
                # the request line has one known origin, so it is made and handed over directly.
                fields = {"requestId": request_id, "method": method, "route": route, "status": status,
                          "durationMs": round(seconds * 1000, 2)}
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields))
