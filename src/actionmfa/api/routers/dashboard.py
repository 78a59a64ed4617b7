"""Operator dashboard: server-rendered pages over the same services as the admin API.

Each route reads the session cookie, makes one call of :class:`~actionmfa.services.operator.dashboard.Dashboard`
(which authorises, checks CSRF, maps the form and runs the admin API's own use cases) and renders
the page it returns; errors become the login redirect (401), the error page (404 and the like) or
the settings page with the message.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from actionmfa.api.deps import ConfigDep, OperatorDep
from actionmfa.api.routers.mfa_admin import MAX_CURSOR
from actionmfa.errors import ActionMFAError, UnauthorizedError
from actionmfa.services.operator.audit_filter import AuditFilter
from actionmfa.services.operator.dashboard import (
    COOKIE_NAME,
    SESSION_SECONDS,
    Dashboard,
    DashboardSession,
    DelegationConfirmation,
)
from actionmfa.services.wallets.admin import DelegationMarks

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "ui" / "templates"))

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, f"dashboard/{name}", context, status_code=status)
    response.headers.update(_SECURITY_HEADERS)
    return response


def _to_login() -> RedirectResponse:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    return response


def _session(request: Request, dashboard: Dashboard) -> DashboardSession:
    session = dashboard.session(request.cookies.get(COOKIE_NAME))
    # every page's Sign out form carries the CSRF token (base.html reads it here)
    request.state.dashboard_csrf = session.csrf(dashboard.keyring)
    return session


def _environment_page(
    request: Request, dashboard: Dashboard, session: DashboardSession, env_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    page = dashboard.environment(session, env_id)
    return _render(request, "environment.html", status=status, **_fields(page), **extra)


def _fields(page: Any) -> dict[str, Any]:
    """A page's fields as the template's context (shallow: the records themselves)."""
    return {f.name: getattr(page, f.name) for f in fields(page)}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html")


@router.post("/login", response_model=None)
async def login(request: Request, operator: OperatorDep, config: ConfigDep) -> Response:
    form = await request.form()
    token = str(form.get("adminToken") or "")
    try:
        cookie = await run_in_threadpool(operator.dashboard.login, token)
    except UnauthorizedError:
        return _render(request, "login.html", status=401, error="That admin token is not valid.")
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=SESSION_SECONDS,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=config.effective_public_url.startswith("https://"),
    )
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request, operator: OperatorDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        session = _session(request, operator.dashboard)
    except UnauthorizedError:
        return _to_login()  # no live session: nothing a forged form could end
    try:
        operator.dashboard.logout(session, form)
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    return _to_login()


@router.get("", response_class=HTMLResponse, response_model=None)
def home(request: Request, operator: OperatorDep) -> Response:
    try:
        session = _session(request, operator.dashboard)
    except UnauthorizedError:
        return _to_login()
    return _render(request, "environments.html", **_fields(operator.dashboard.home(session)))


@router.get("/environments/{env_id}", response_class=HTMLResponse, response_model=None)
def environment_page(env_id: str, request: Request, operator: OperatorDep) -> Response:
    try:
        session = _session(request, operator.dashboard)
        return _environment_page(request, operator.dashboard, session, env_id)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)


@router.post("/environments/{env_id}", response_class=HTMLResponse, response_model=None)
async def save_environment(env_id: str, request: Request, operator: OperatorDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    dashboard = operator.dashboard

    def save() -> Response:
        try:
            session = _session(request, dashboard)
        except UnauthorizedError:
            return _to_login()
        try:
            dashboard.save_environment(session, env_id, form)
        except ActionMFAError as err:
            if err.status == 404:
                return _render(request, "error.html", status=404, error=err.message)
            return _environment_page(
                request, dashboard, session, env_id, status=err.status, error=err.message, error_field=err.field
            )
        return _environment_page(request, dashboard, session, env_id, saved=True)

    return await run_in_threadpool(save)


def _when(text: str | None) -> datetime | None:
    """A ``datetime-local`` field (UTC) or an ISO time; empty or unreadable means no bound."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.get("/environments/{env_id}/audit", response_class=HTMLResponse, response_model=None)
def audit_page(
    env_id: str,
    request: Request,
    operator: OperatorDep,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_CURSOR)] = None,
    user: Annotated[str, Query(max_length=64)] = "",
    event: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    filters = AuditFilter(user.strip(), event.strip(), outcome.strip(), _when(since), _when(until))
    try:
        session = _session(request, operator.dashboard)
        page = operator.dashboard.audit(session, env_id, cursor, filters)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    query = {k: v for k, v in {"user": user, "event": event, "outcome": outcome, "since": since,
                               "until": until}.items() if v}
    return _render(request, "audit.html", **_fields(page), query=query, since=since, until=until)


async def _form_post(request: Request, operator: Any, act: Any) -> Response:
    """A POSTed form: the session, then ``act(dashboard, session, form)`` (which checks the CSRF
    token and renders the next page) in a worker thread; login or error page otherwise."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    dashboard = operator.dashboard

    def run() -> Response:
        try:
            session = _session(request, dashboard)
        except UnauthorizedError:
            return _to_login()
        try:
            response: Response = act(dashboard, session, form)
        except ActionMFAError as err:
            return _render(request, "error.html", status=err.status, error=err.message)
        return response

    return await run_in_threadpool(run)


async def _user_action(request: Request, operator: Any, env_id: str, act: Any) -> Response:
    def then_users(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> Response:
        message = act(dashboard, session, form)
        return _render(request, "users.html", **_fields(dashboard.users(session, env_id, None)), done=message)

    return await _form_post(request, operator, then_users)


@router.post("/environments/{env_id}/users/{user_id}/reset-mfa", response_class=HTMLResponse, response_model=None)
async def reset_user_mfa(env_id: str, user_id: str, request: Request, operator: OperatorDep) -> Response:
    def act(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> str:
        dashboard.reset_mfa(session, env_id, user_id, form)
        return f"MFA reset for user {user_id}: methods, recovery codes, tokens and lockout removed."

    return await _user_action(request, operator, env_id, act)


@router.post("/environments/{env_id}/wallets/{wallet_id}/unlock", response_class=HTMLResponse, response_model=None)
async def unlock_wallet(env_id: str, wallet_id: str, request: Request, operator: OperatorDep) -> Response:
    def act(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> str:
        changed = dashboard.unlock_wallet(session, env_id, wallet_id, form)
        return f"Wallet {wallet_id} unlocked." if changed else f"Wallet {wallet_id} was not locked."

    return await _user_action(request, operator, env_id, act)


@router.get("/environments/{env_id}/users", response_class=HTMLResponse, response_model=None)
def users_page(env_id: str, request: Request, operator: OperatorDep, cursor: str | None = None) -> Response:
    try:
        session = _session(request, operator.dashboard)
        page = operator.dashboard.users(session, env_id, cursor)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    return _render(request, "users.html", **_fields(page))


def _page(request: Request, operator: Any, template: str, build: Any, **extra: Any) -> Response:
    """A GET page: the session, one call of the dashboard, the template (or login / error page)."""
    try:
        session = _session(request, operator.dashboard)
        page = build(operator.dashboard, session)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    return _render(request, template, **_fields(page), **extra)


@router.get("/environments/{env_id}/users/{user_id}", response_class=HTMLResponse, response_model=None)
def user_page(env_id: str, user_id: str, request: Request, operator: OperatorDep) -> Response:
    return _page(request, operator, "user.html", lambda d, s: d.user(s, env_id, user_id))


@router.get("/environments/{env_id}/wallets", response_class=HTMLResponse, response_model=None)
def wallets_page(env_id: str, request: Request, operator: OperatorDep) -> Response:
    return _page(request, operator, "wallets.html", lambda d, s: d.wallets(s, env_id))


def _decided(marks: DelegationMarks, form: dict[str, str]) -> str:
    verb = "approval" if form.get("action") == "approve" else "revocation"
    who = "this user's" if form.get("userId") else "the environment's"
    text = (f"Delegation {verb} marked on {len(marks.marked)} of {who} wallets; each completes at its "
            f"user's next sign-in.")
    if marks.withdrawn:
        text += f" {len(marks.withdrawn)} pending approval(s) withdrawn."
    return text


@router.post("/environments/{env_id}/delegation", response_class=HTMLResponse, response_model=None)
async def decide_delegation(env_id: str, request: Request, operator: OperatorDep) -> Response:
    def act(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> Response:
        outcome = dashboard.decide_delegation(session, env_id, form)
        if isinstance(outcome, DelegationConfirmation):
            return _render(request, "delegation_confirm.html", **_fields(outcome))
        user_id = form.get("userId")
        page = dashboard.user(session, env_id, user_id) if user_id else dashboard.wallets(session, env_id)
        return _render(request, "user.html" if user_id else "wallets.html", **_fields(page),
                       done=_decided(outcome, form))

    return await _form_post(request, operator, act)


@router.post("/environments/{env_id}/wallets/pregenerate", response_class=HTMLResponse, response_model=None)
async def pregenerate_wallets(env_id: str, request: Request, operator: OperatorDep) -> Response:
    def act(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> Response:
        page = dashboard.pregenerate(session, env_id, form)
        made = sum(1 for r in page.pregenerated if r.created)
        return _render(request, "wallets.html", **_fields(page),
                       done=f"{made} wallet(s) pregenerated, {len(page.pregenerated) - made} already existed. "
                            "Until each user signs in and claims theirs, the operator is custodial.")

    return await _form_post(request, operator, act)


@router.get("/environments/{env_id}/webhooks", response_class=HTMLResponse, response_model=None)
def deliveries_page(env_id: str, request: Request, operator: OperatorDep,
                    status: Annotated[str, Query(max_length=16)] = "") -> Response:
    return _page(request, operator, "webhooks.html", lambda d, s: d.deliveries(s, env_id, status))


@router.post("/environments/{env_id}/webhooks/{event_id}/redeliver", response_class=HTMLResponse,
             response_model=None)
async def redeliver(env_id: str, event_id: str, request: Request, operator: OperatorDep) -> Response:
    def act(dashboard: Dashboard, session: DashboardSession, form: dict[str, str]) -> Response:
        dashboard.redeliver(session, env_id, event_id, form)
        return _render(request, "webhooks.html", **_fields(dashboard.deliveries(session, env_id)),
                       done=f"Event {event_id} queued again; the worker delivers it with the same webhook-id.")

    return await _form_post(request, operator, act)
