"""The hosted MFA prompt: ``client.ui.mfa.show(browser=True)``.

The server's page ``/ui/{environmentId}/mfa/prompt`` asks for a TOTP code, a recovery code or a
passkey, and posts the answer to a one-time HTTP server on loopback (RFC 8252 §7.3, as CLI tools
receive OAuth codes). This SDK — which holds the session — sends it to the API, and answers the
browser with a result page, or a redirect back to the prompt after a wrong code. A passkey choice
redirects the same tab to the hosted passkey ceremony, whose credential comes back the same way.
"""

from __future__ import annotations

import html
import queue
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlencode

from actionmfa.crypto import constant_time_equal
from actionmfa.errors import (
    ActionMFAError,
    MfaCodeAlreadyUsedError,
    MfaInvalidCodeError,
    MfaRateLimitedError,
    PasskeyChallengeInvalidError,
    PasskeyInvalidError,
)
from actionmfa.sdk.authenticators import Ceremony, PasskeyCeremonyError, credential_from_handback

if TYPE_CHECKING:
    from actionmfa.sdk.client import Client

_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>{title}</title>"
    "<body style='font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8'>"
    "<main style='max-width:28rem;margin:4rem auto;padding:1.5rem 2rem;background:#fff;border-radius:10px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.1)'><h1 id=result style='font-size:1.3rem;margin-top:0'>{title}</h1>"
    "<p>{text}</p></main>"
)


@dataclass
class _Reply:
    """How the loopback server answers the browser's pending POST, decided by the SDK thread."""

    event: threading.Event = field(default_factory=threading.Event)
    redirect: str | None = None
    title: str = ""
    text: str = ""

    def send_redirect(self, url: str) -> None:
        self.redirect = url
        self.event.set()

    def send_page(self, title: str, text: str = "You can close this window and return to the app.") -> None:
        self.title, self.text = title, text
        self.event.set()


class _PromptReceiver:
    """Loopback HTTP server that hands each form POST carrying the current ``state`` to the SDK
    thread and holds the browser's request open until the SDK decides the answer."""

    MAX_BODY: ClassVar[int] = 64 * 1024

    def __init__(self, host: str, reply_timeout: float) -> None:
        self.state = secrets.token_urlsafe(24)
        self.inbox: queue.Queue[tuple[dict[str, str], _Reply]] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if self.path != "/callback" or length > receiver.MAX_BODY:
                    self._page(404, "Not found", "")
                    return
                raw = self.rfile.read(length).decode("utf-8", "replace")
                fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                if not constant_time_equal(fields.get("state", ""), receiver.state):
                    self._page(400, "This page has expired", "Start again from the app.")
                    return
                receiver.state = secrets.token_urlsafe(24)  # every state answers one POST only
                reply = _Reply()
                receiver.inbox.put((fields, reply))
                if not reply.event.wait(reply_timeout):
                    self._page(504, "The app did not answer", "Start again from the app.")
                elif reply.redirect:
                    self.send_response(303)
                    self.send_header("Location", reply.redirect)
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._page(200, reply.title, reply.text)

            def do_GET(self) -> None:
                self._page(404, "Not found", "")

            def _page(self, status: int, title: str, text: str) -> None:
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # codes and credentials stay out of logs
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self._server.server_address[1]}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _PromptReceiver:
        self._thread.start()
        return self

    def next(self, timeout: float) -> tuple[dict[str, str], _Reply]:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise PasskeyCeremonyError("timed out waiting for the browser") from None

    def __exit__(self, *exc: object) -> None:
        # Release a browser request still waiting for an answer, then stop.
        while not self.inbox.empty():
            self.inbox.get_nowait()[1].send_page("Cancelled", "The app stopped waiting.")
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _ViaPromptTab:
    """A passkey authenticator that runs the hosted ceremony in the prompt's own browser tab."""

    def __init__(self, hosted: HostedMfaPrompt, receiver: _PromptReceiver, reply: _Reply) -> None:
        self.hosted, self.receiver, self.reply = hosted, receiver, reply

    def run(self, ceremony: Ceremony) -> dict[str, Any]:
        ceremony_id = ceremony.options.get("ceremonyId")
        if not isinstance(ceremony_id, str):
            raise PasskeyCeremonyError("the server did not open a hosted ceremony (no ceremonyId)")
        query = urlencode({"callback": self.receiver.url, "state": self.receiver.state})
        self.reply.send_redirect(
            f"{self.hosted.origin}/ui/{ceremony.environment_id}/passkeys/ceremony/{ceremony_id}?{query}"
        )
        fields, self.reply = self.receiver.next(self.hosted.timeout)
        return credential_from_handback(fields)


class HostedMfaPrompt:
    def __init__(
        self,
        client: Client,
        *,
        open_url: Callable[[str], Any] = webbrowser.open,
        page_origin: str | None = None,
        timeout: float = 300.0,
        callback_host: str = "127.0.0.1",
    ) -> None:
        self._c = client
        self.open_url = open_url
        self._page_origin = page_origin.rstrip("/") if page_origin else None
        self.origin = self._page_origin or client.base_url.rstrip("/")
        self.timeout = timeout
        self.callback_host = callback_host
        self.approval_id: str | None = None

    def _origin_for(self, methods: list[str]) -> str:
        """Where the prompt runs. A passkey can only be used on one of the environment's passkey
        origins (WebAuthn binds the credential to the rp id), so with a passkey on offer the page is
        served from there — the API's own origin if it is one, else the first configured one — as
        :class:`~actionmfa.sdk.authenticators.BrowserAuthenticator` does. ``base_url`` of
        ``http://127.0.0.1:8080`` is not the default rp's ``localhost`` origin."""
        if self._page_origin or "passkey" not in methods:
            return self.origin
        return Ceremony(
            kind="authenticate",
            options={},
            environment_id=self._c.environment_id,
            base_url=self._c.base_url,
            origins=self._c.passkeys.origins(),
        ).page_origin()

    def _methods(self) -> list[str]:
        methods: dict[str, Any] = self._c.request("GET", "/users/mfa/methods")
        kinds: list[str] = []
        if any(d.get("type") == "totp" and d.get("verified") for d in methods.get("devices", [])):
            kinds.append("totp")
        if methods.get("passkeys"):
            kinds.append("passkey")
        kinds.append("recovery")
        return kinds

    def _url(self, receiver: _PromptReceiver, methods: list[str], error: str | None) -> str:
        query = {"callback": receiver.url, "state": receiver.state, "methods": ",".join(methods)}
        if self.approval_id:
            query["approval"] = self.approval_id
        if error:
            query["error"] = error
        return f"{self.origin}/ui/{self._c.environment_id}/mfa/prompt?{urlencode(query)}"

    def show(
        self,
        *,
        mint: Any,
        requested_scopes: list[str] | None,
        max_attempts: int,
        approval_id: str | None = None,
        approval_digest: str | None = None,
    ) -> str | None:
        """Open the prompt (showing the approval ``approval_id`` describes, if any) and mint with
        ``approval_digest``, so the token opens that payload only."""
        self.approval_id = approval_id
        bound: dict[str, Any] = {"approval_digest": approval_digest} if approval_digest else {}
        methods = self._methods()
        self.origin = self._origin_for(methods)
        with _PromptReceiver(self.callback_host, reply_timeout=self.timeout) as receiver:
            self.open_url(self._url(receiver, methods, None))
            for attempt in range(1, max_attempts + 1):
                fields, reply = receiver.next(self.timeout)
                kind = fields.get("kind", "")
                try:
                    if kind == "passkey":
                        via = _ViaPromptTab(self, receiver, reply)
                        try:
                            result = self._c.passkeys.authenticate_mfa(
                                authenticator=via, create_mfa_token=mint, requested_scopes=requested_scopes, **bound
                            )
                        finally:
                            reply = via.reply
                        token: str | None = result.mfa_token
                    elif kind == "recovery":
                        token = self._c.mfa.authenticate_recovery_code(
                            code=fields.get("code", ""), create_mfa_token=mint, requested_scopes=requested_scopes,
                            **bound,
                        )
                    else:
                        token = self._c.mfa.authenticate_device(
                            code=fields.get("code", "").replace(" ", ""),
                            create_mfa_token=mint,
                            requested_scopes=requested_scopes,
                            **bound,
                        )
                except (MfaInvalidCodeError, PasskeyInvalidError, PasskeyChallengeInvalidError,
                        PasskeyCeremonyError) as err:
                    if attempt == max_attempts:
                        reply.send_page("Verification failed", "Too many attempts; start again from the app.")
                        raise
                    error = (
                        "used" if isinstance(err, MfaCodeAlreadyUsedError)
                        else "invalid" if isinstance(err, MfaInvalidCodeError)
                        else "passkey"
                    )
                    reply.send_redirect(self._url(receiver, methods, error))
                    continue
                except MfaRateLimitedError:
                    reply.send_page("Too many attempts", "MFA is locked for up to 15 minutes; try again later.")
                    raise
                except ActionMFAError as err:
                    reply.send_page("Verification failed", err.message)
                    raise
                reply.send_page("Verified")
                return token
        raise MfaInvalidCodeError("Too many invalid codes")
