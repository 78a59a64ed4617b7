"""One handler turns every failure into ``{"error", "code"}`` with a fitting status (DESIGN §5)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from actionmfa.errors import ActionMFAError, InternalError, InvalidRequestError

log = logging.getLogger("actionmfa.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(err: ActionMFAError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=err.status, content=err.to_body(), headers=headers)


def _validation_error(exc: RequestValidationError) -> InvalidRequestError:
    errors: list[Any] = list(exc.errors())
    if not errors:
        return InvalidRequestError()
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    field = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return InvalidRequestError("Malformed JSON body", field="body")
    return InvalidRequestError(f"{field or 'body'}: {first.get('msg', 'invalid')}", field=field)


class MethodTable:
    """Which methods each path template has, across every router: the ``Allow`` of a 405.

    FastAPI registers one route per method, and Starlette's 405 names only the first route that
    matched the path; a client (and Schemathesis) expects all of the path's methods."""

    def __init__(self) -> None:
        self._paths: list[tuple[re.Pattern[str], set[str]]] = []

    def add(self, path: str, methods: set[str]) -> None:
        regex, _, _ = compile_path(path)
        for pattern, known in self._paths:
            if pattern.pattern == regex.pattern:
                known |= methods
                return
        self._paths.append((regex, set(methods)))

    def allowed(self, path: str) -> list[str]:
        """The methods of the most specific templates matching ``path``: ``/users/mfa/methods`` is
        its own resource (GET), not an ``{mfaDeviceId}`` of ``/users/mfa/{mfaDeviceId}``."""
        matching = [(pattern.groups, methods) for pattern, methods in self._paths if pattern.match(path)]
        if not matching:
            return []
        fewest = min(groups for groups, _ in matching)
        return sorted({m for groups, methods in matching if groups == fewest for m in methods})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ActionMFAError)
    async def _domain(_: Request, exc: ActionMFAError) -> JSONResponse:
        if exc.status >= 500:
            log.error("internal error: %s", exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
            # FastAPI could not read a JSON body (e.g. an integer beyond Python's digit limit):
            # bad input, answered as every other unreadable body (limits.py refuses most before).
            return error_response(InvalidRequestError("Malformed JSON body", field="body"))
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            table: MethodTable | None = getattr(request.app.state, "methods", None)
            allowed = table.allowed(request.url.path) if table is not None else []
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return JSONResponse(status_code=exc.status_code, content={"error": message, "code": code}, headers=headers)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL cannot store or compare text holding NUL (U+0000), wherever it came from (a
        # path segment, a query parameter, a JSON string): the caller's input, not a server fault.
        # The transaction has rolled back. Any other data error stays a 500 (it may be our bug).
        if "NUL (0x00)" in str(exc.orig):
            return error_response(InvalidRequestError("Text must not contain NUL (U+0000) characters"))
        log.error("database data error", exc_info=exc)
        return error_response(InternalError())

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")  # the trace goes to the log, never to the wire
        return error_response(InternalError())
