"""Hosted pages for end users (server-rendered, Jinja2 + plain JS, no build step).

The first page is the passkey ceremony: ``GET /ui/{environmentId}/passkeys/ceremony/{ceremonyId}``
runs ``navigator.credentials.create``/``get`` with the options stored for that ceremony (opened by
``GET …/users/passkeys/register`` or ``…/authenticate``) and hands the resulting credential back
to the app that opened the page, by a form POST to its loopback ``callback`` (the way a CLI gets an
OAuth code). The page itself never sees the session: the app posts the credential to the API with
its own bearer token, so a leaked page URL gives nobody a way to act for the user.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from actionmfa.api.deps import CoreDep, MfaDep, PasskeysDep
from actionmfa.errors import ActionMFAError, InvalidRequestError, NotFoundError

router = APIRouter(prefix="/ui", include_in_schema=False)

_UI_DIR = Path(__file__).resolve().parents[2] / "ui"
templates = Jinja2Templates(directory=str(_UI_DIR / "templates"))
_STATIC = {"passkey-ceremony.js": "text/javascript; charset=utf-8"}
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_STATE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def loopback_callback(url: str) -> str:
    """The callback must be ``http://<loopback>:<port>/…``: the result goes to this machine only
    (RFC 8252 §7.3), never to a host named in a link someone else crafted."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS or parts.port is None:
        raise InvalidRequestError("callback must be an http loopback URL with a port", field="callback")
    if parts.username or parts.password or parts.fragment:
        raise InvalidRequestError("callback must be a plain loopback URL", field="callback")
    return url


def _headers(callback_origin: str, *, redirect_back: bool = False) -> dict[str, str]:
    # form-action also governs the redirects that follow a submission: the hosted MFA prompt's
    # callback answers a wrong code with a redirect back to this server, so it allows 'self'.
    form_action = f"{callback_origin} 'self'" if redirect_back else callback_origin
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@router.get("/{environmentId}/passkeys/ceremony/{ceremonyId}", response_class=HTMLResponse)
def passkey_ceremony_page(
    request: Request,
    environmentId: str,
    ceremonyId: str,
    callback: str,
    state: str,
    passkeys: PasskeysDep,
) -> Response:
    try:
        callback = loopback_callback(callback)
        if not _STATE.match(state):
            raise InvalidRequestError("state must be 16-128 URL-safe characters", field="state")
        ceremony = passkeys.ceremonies.hosted_ceremony(environmentId, ceremonyId)
    except ActionMFAError as exc:
        page = templates.TemplateResponse(
            request, "passkeys/error.html", {"message": exc.message, "code": exc.code}, status_code=exc.status
        )
        page.headers.update(_headers("'none'"))
        return page
    parts = urlsplit(callback)
    options = ceremony.options
    context = {
        "kind": ceremony.kind,
        "ceremony_id": ceremony.id,
        "callback": callback,
        "state": state,
        # Embedded as JSON inside <script type="application/json">; "</" is escaped so the
        # options (user name, rp name) cannot close the tag.
        "options_json": json.dumps(options).replace("</", "<\\/"),
        "rp_name": (options.get("rp") or {}).get("name") or (options.get("rpId") or ""),
        "user_name": (options.get("user") or {}).get("name"),
    }
    page = templates.TemplateResponse(request, "passkeys/ceremony.html", context)
    # 'self' too: opened from the hosted MFA prompt, a refused passkey is answered with a redirect
    # back to the prompt.
    page.headers.update(_headers(f"{parts.scheme}://{parts.netloc}", redirect_back=True))
    return page


_PROMPT_METHODS = ("totp", "passkey", "recovery")
_PROMPT_ERRORS = {
    "invalid": "That code was not accepted. Try again.",
    "used": "This code was already used — wait for the next one.",
    "passkey": "The passkey was not accepted. Try again or use a code.",
}


@router.get("/{environmentId}/mfa/prompt", response_class=HTMLResponse)
def mfa_prompt_page(
    request: Request,
    environmentId: str,
    callback: str,
    state: str,
    core: CoreDep,
    mfa: MfaDep,
    methods: str = "totp,recovery",
    error: str | None = None,
    approval: str | None = None,
) -> Response:
    """The hosted MFA prompt (``client.ui.mfa.show(browser=True)``).

    Plain forms, no script: the code (or the choice of a passkey) is posted to the app's loopback
    callback, and the app — which holds the session — sends it to the API. The page needs no
    session and keeps nothing, so its URL is worthless to anybody else. With ``approval`` (a ticket
    from ``POST …/approvals``) it shows what is being approved, as the server described it.
    """
    try:
        callback = loopback_callback(callback)
        if not _STATE.match(state):
            raise InvalidRequestError("state must be 16-128 URL-safe characters", field="state")
        env = core.directory.environment(environmentId)
        view = mfa.approvals.open(environmentId, approval) if approval else None
    except ActionMFAError as exc:
        page = templates.TemplateResponse(
            request, "passkeys/error.html", {"message": exc.message, "code": exc.code}, status_code=exc.status
        )
        page.headers.update(_headers("'none'"))
        return page
    wanted = [m for m in methods.split(",") if m in _PROMPT_METHODS] or ["totp", "recovery"]
    parts = urlsplit(callback)
    context = {
        "callback": callback,
        "state": state,
        "methods": wanted,
        "error": _PROMPT_ERRORS.get(error or ""),
        "open_recovery": wanted == ["recovery"],
        "app_name": env.settings.app_name(),
        "approval": view,
    }
    page = templates.TemplateResponse(request, "mfa/prompt.html", context)
    page.headers.update(_headers(f"{parts.scheme}://{parts.netloc}", redirect_back=True))
    return page


@router.get("/static/{name}")
def ui_static(name: str) -> Response:
    media_type = _STATIC.get(name)
    if media_type is None:
        raise NotFoundError()
    response = FileResponse(_UI_DIR / "static" / name, media_type=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response
