"""Pure ASGI middleware: request bodies above a configured size get 413, and JSON bodies that no
route could use safely get 422 ``invalid_request`` (``field: body``) before any route parses them.

The JSON check (:func:`json_body_problem`) refuses, in one place for every route and model:

* strings (values or keys) holding a lone surrogate (``"\\ud800"``, or the raw CESU-8 bytes Python's
  JSON reader also lets through): they pass pydantic and then fail in the database driver;
* nesting deeper than :data:`MAX_JSON_DEPTH`, measured on the raw bytes *before* parsing: the
  recursion limit is raised process-wide by a wallet dependency (py_ecc sets 100 000), so parsing
  deep input overflows the C stack and kills the worker instead of raising ``RecursionError``;
* bodies that are not valid UTF-8 (or the UTF-16/32 the JSON reader detects);
* non-finite numbers: Python's JSON reader accepts ``NaN``, ``Infinity`` and overflowing literals
  such as ``1e400`` (→ ``inf``), which are not JSON and which PostgreSQL's ``json`` type refuses.

Cheap on ordinary bodies: a strict UTF-8 decode, a byte count and one regex search; the parse and the
walk over the parsed value only run when a ``\\uD8xx``-``\\uDFxx`` escape appears.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actionmfa.errors import ActionMFAError, InvalidRequestError, PayloadTooLargeError

MAX_JSON_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_OPEN = frozenset(b"[{")
_NON_FINITE_HINT = re.compile(rb"NaN|Infinity|[0-9][eE]")


# An oversized body is read to its end (and thrown away) before the 413 goes out, up to this many
# bytes: a client that writes the whole body before reading (urllib, requests) then reads the 413;
# closing on unread data would reset the connection under it. Past this bound the 413 is sent at
# once and the connection closed (such a client sees the reset; nothing legitimate sends that much).
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_limit = max(DRAIN_LIMIT_BYTES, 4 * max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.drain_limit + 1
                if declared > self.max_bytes:
                    if declared <= self.drain_limit:
                        await self._drain(receive, 0)
                    await _refuse(send, close=True)
                    return
        # Buffer the body (bounded by max_bytes) so that an oversized chunked body is refused
        # before the application sees any of it.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, seen)
                await _refuse(send, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        problem = json_body_problem(scope.get("headers", []), b"".join(chunks))
        if problem is not None:
            await _refuse(send, InvalidRequestError(problem, field="body"))
            return
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _drain(self, receive: Receive, seen: int) -> None:
        """Read and discard the rest of the body, at most up to :attr:`drain_limit` bytes in all."""
        while seen <= self.drain_limit:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """As FastAPI decides to parse a body as JSON: no content type, or ``application/(…+)json``."""
    for name, value in headers:
        if name.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return True


def _too_deep(body: bytes) -> bool:
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))  # string contents do not nest
    depth = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


class _NonFinite(ValueError):
    pass


def _has_non_finite(body: bytes) -> bool:
    def constant(_: str) -> Any:
        raise _NonFinite()

    def number(text: str) -> float:
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise _NonFinite()
        return value

    try:
        json.loads(body, parse_constant=constant, parse_float=number)
    except _NonFinite:
        return True
    except ValueError:
        return False  # malformed JSON is the route's to answer
    return False


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_body_problem(headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    """Why this body must be refused with 422, or ``None`` (malformed JSON is left to the route,
    which answers 422 ``Malformed JSON body`` itself)."""
    if not body or not _is_json(headers):
        return None
    encoding = json.detect_encoding(body)
    try:
        body.decode(encoding)
        raw_surrogates = False
    except UnicodeDecodeError:
        try:
            text = body.decode(encoding, "surrogatepass")  # what the JSON reader accepts
        except UnicodeDecodeError:
            return "The body is not valid UTF-8"
        raw_surrogates = True
        body = text.encode("utf-8", "surrogatepass")
    else:
        if encoding != "utf-8":
            body = body.decode(encoding).encode("utf-8")
    if _too_deep(body):
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    if (
        _NON_FINITE_HINT.search(body)  # cheap pre-check; most bodies stop here
        and _NON_FINITE_HINT.search(_JSON_STRING.sub(b'""', body))
        and _has_non_finite(body)
    ):
        return "JSON numbers must be finite (NaN and Infinity are not JSON)"
    if not raw_surrogates and _SURROGATE_ESCAPE.search(body) is None:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if _has_surrogate(value):
        return "Strings must be valid Unicode (no lone surrogates)"
    return None


def _replay(chunks: list[bytes], first: Message | None, receive: Receive | None = None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if first is not None and not sent:
            sent = True
            return first
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        if receive is not None:
            return await receive()
        return {"type": "http.disconnect"}

    return replay


async def _refuse(send: Send, err: ActionMFAError | None = None, *, close: bool = False) -> None:
    err = err if err is not None else PayloadTooLargeError()
    body: dict[str, Any] = err.to_body()
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if close:  # the connection may still hold unread body bytes: do not reuse it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
