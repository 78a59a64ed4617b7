"""Authenticators for ``client.passkeys``: who answers a WebAuthn ceremony for a Python app.

* :class:`BrowserAuthenticator` — the real thing for people: opens the server's hosted ceremony
  page in the user's browser (platform authenticator, security key, phone) and receives the
  credential on a one-shot loopback callback, the way CLIs receive OAuth codes (RFC 8252 §7.3).
* :class:`SoftwareAuthenticator` — for tests and headless agents: keys in a passphrase-sealed file
  (scrypt + AES-GCM). **Weaker than a device-bound passkey**: whoever has the file and the
  passphrase has the factor, no hardware holds the key, "user verification" means "this process
  knew the passphrase", and no browser vouches for the origin.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs, urlencode

from actionmfa.crypto import constant_time_equal
from actionmfa.errors import ActionMFAError
from actionmfa.factors.soft_authenticator import SoftAuthenticator

__all__ = [
    "Authenticator",
    "BrowserAuthenticator",
    "Ceremony",
    "PasskeyCeremonyError",
    "SoftwareAuthenticator",
]


class PasskeyCeremonyError(ActionMFAError):
    """The authenticator did not produce a credential (cancelled, timed out, unsupported)."""

    code = "passkey_ceremony_failed"
    status = 400
    default_message = "The passkey ceremony did not complete"


@dataclass(frozen=True)
class Ceremony:
    kind: str  # "register" | "authenticate"
    options: dict[str, Any]  # WebAuthn L3 JSON options as the server returned them (+ ceremonyId)
    environment_id: str
    base_url: str
    origins: tuple[str, ...] = ()  # the environment's passkey origins (public settings)

    def page_origin(self) -> str:
        """Where the hosted page must run: the API's own origin if it is a passkey origin, else
        the first configured one (``ACTIONMFA_PUBLIC_URL`` should be listed there)."""
        own = self.base_url.rstrip("/")
        if not self.origins or own in self.origins:
            return own
        return self.origins[0]


class Authenticator(Protocol):
    def run(self, ceremony: Ceremony) -> dict[str, Any]:
        """Return the ``PublicKeyCredential`` JSON answering ``ceremony.options``."""
        ...


class SoftwareAuthenticator:
    """Keys in an encrypted file (or in memory when ``path`` is None).

    ``origin`` is what the authenticator puts in ``clientDataJSON``; it must be one of the
    environment's configured origins.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        passphrase: str | None = None,
        *,
        origin: str,
        algorithm: int | None = None,
    ) -> None:
        if path is not None and not passphrase:
            raise ValueError("a passphrase is required to seal the authenticator file")
        self.path = Path(path) if path is not None else None
        self.passphrase = passphrase
        self.origin = origin
        self.algorithm = algorithm
        self._lock = threading.Lock()
        self._memory = SoftAuthenticator()

    def _load(self) -> SoftAuthenticator:
        if self.path is None:
            return self._memory
        if not self.path.exists():
            return SoftAuthenticator()
        assert self.passphrase is not None  # noqa: S101 - checked in __init__
        return SoftAuthenticator.load(self.path, self.passphrase)

    def run(self, ceremony: Ceremony) -> dict[str, Any]:
        # Load, answer, save under one lock: the counter must never go back (a clone signal).
        with self._lock:
            auth = self._load()
            if ceremony.kind == "register":
                result = auth.create(ceremony.options, origin=self.origin, algorithm=self.algorithm)
            else:
                result = auth.get(ceremony.options, origin=self.origin)
            if self.path is not None:
                assert self.passphrase is not None  # noqa: S101
                auth.save(self.path, self.passphrase)
            return result


class BrowserAuthenticator:
    """Run the ceremony on the server's hosted page in a browser; receive it on loopback.

    ``open_url`` defaults to :func:`webbrowser.open`; tests pass a function that drives a
    browser. ``page_origin`` is where the hosted page is served (one of the environment's
    passkey origins); default: the client's ``base_url``.
    """

    def __init__(
        self,
        *,
        page_origin: str | None = None,
        open_url: Callable[[str], Any] = webbrowser.open,
        timeout: float = 300.0,
        callback_host: str = "127.0.0.1",
    ) -> None:
        self.page_origin = page_origin.rstrip("/") if page_origin else None
        self.open_url = open_url
        self.timeout = timeout
        self.callback_host = callback_host

    def run(self, ceremony: Ceremony) -> dict[str, Any]:
        ceremony_id = ceremony.options.get("ceremonyId")
        if not isinstance(ceremony_id, str):
            raise PasskeyCeremonyError("the server did not open a hosted ceremony (no ceremonyId)")
        state = secrets.token_urlsafe(24)
        with _LoopbackReceiver(self.callback_host, state) as receiver:
            origin = self.page_origin or ceremony.page_origin()
            query = urlencode({"callback": receiver.url, "state": state})
            self.open_url(f"{origin}/ui/{ceremony.environment_id}/passkeys/ceremony/{ceremony_id}?{query}")
            fields = receiver.wait(self.timeout)
        if fields is None:
            raise PasskeyCeremonyError("timed out waiting for the browser")
        return credential_from_handback(fields)


def credential_from_handback(fields: dict[str, str]) -> dict[str, Any]:
    """The credential JSON the hosted ceremony page posted back (or the error it reported)."""
    if fields.get("error"):
        raise PasskeyCeremonyError(f"the browser reported {fields['error'][:64]}")
    try:
        credential = json.loads(fields.get("credential", ""))
    except ValueError:
        raise PasskeyCeremonyError("the browser returned a malformed credential") from None
    if not isinstance(credential, dict):
        raise PasskeyCeremonyError("the browser returned a malformed credential")
    return credential


_DONE_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Done</title>"
    "<body style='font-family:system-ui;margin:4rem'><h1 id=done>{}</h1>"
    "<p>You can close this window and return to the app.</p>"
)


class _LoopbackReceiver:
    """A one-shot HTTP server on loopback that accepts one form POST carrying our ``state``."""

    MAX_BODY: ClassVar[int] = 64 * 1024

    def __init__(self, host: str, state: str) -> None:
        self.state = state
        self.result: dict[str, str] | None = None
        self._done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if self.path != "/callback" or length > receiver.MAX_BODY:
                    self._reply(404, "Not found")
                    return
                raw = self.rfile.read(length).decode("utf-8", "replace")
                fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                if receiver._done.is_set() or not constant_time_equal(fields.get("state", ""), receiver.state):
                    self._reply(400, "This sign-in link is not expected here")
                    return
                receiver.result = fields
                receiver._done.set()
                self._reply(200, "Passkey ceremony failed" if fields.get("error") else "Done")

            def do_GET(self) -> None:
                self._reply(404, "Not found")

            def _reply(self, status: int, title: str) -> None:
                body = _DONE_PAGE.format(html.escape(title)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # keep the credential out of logs
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        port = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _LoopbackReceiver:
        self._thread.start()
        return self

    def wait(self, timeout: float) -> dict[str, str] | None:
        self._done.wait(timeout)
        return self.result

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
