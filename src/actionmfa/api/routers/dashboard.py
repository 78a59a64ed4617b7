"""Operator dashboard: server-rendered pages over the same services as the admin API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from actionmfa.api.deps import RuntimeDep
from actionmfa.domain.actions import MFAAction, MFADeviceType
from actionmfa.errors import ActionMFAError, UnauthorizedError
from actionmfa.services.core import audit
from actionmfa.services.operator.dashboard import (
    COOKIE_NAME,
    SESSION_SECONDS,
    DashboardAuth,
    DashboardSession,
    settings_from_form,
)
from actionmfa.services.runtime import Runtime

router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "ui" / "templates"))

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _auth(runtime: Runtime) -> DashboardAuth:
    found = runtime.extras.get("dashboard_auth")
    if found is None:
        found = DashboardAuth(runtime.keyring, runtime.environments, runtime.db, runtime.clock)
        runtime.extras["dashboard_auth"] = found
    return found  # type: ignore[no-any-return]


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, f"dashboard/{name}", context, status_code=status)
    response.headers.update(_SECURITY_HEADERS)
    return response


def _to_login() -> RedirectResponse:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    return response


def _session(request: Request, runtime: Runtime) -> DashboardSession:
    return _auth(runtime).session(request.cookies.get(COOKIE_NAME))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html")


@router.post("/login", response_model=None)
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await request.form()
    token = str(form.get("adminToken") or "")
    try:
        cookie = await run_in_threadpool(_auth(runtime).login, token)
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
        secure=runtime.config.effective_public_url.startswith("https://"),
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    return _to_login()


@router.get("", response_class=HTMLResponse, response_model=None)
def home(request: Request, runtime: RuntimeDep) -> Response:
    try:
        session = _session(request, runtime)
    except UnauthorizedError:
        return _to_login()
    with runtime.db.read() as uow:
        envs = [e for e in uow.environments.list() if session.principal.can_manage(e.id)]
    return _render(
        request,
        "environments.html",
        environments=envs,
        csrf=session.csrf(runtime.keyring),
        operator=session.principal.environment_id is None,
    )


def _environment_page(
    request: Request, runtime: Runtime, session: DashboardSession, env_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    with runtime.db.read() as uow:
        env = runtime.environments.get(uow, env_id)
    mfa = env.settings.security.mfa
    actions = {a.value: mfa.action(a) for a in MFAAction}
    return _render(
        request,
        "environment.html",
        status=status,
        env=env,
        settings=env.settings.security,
        actions=actions,
        methods={t.value: mfa.method_enabled(t) for t in MFADeviceType},
        csrf=session.csrf(runtime.keyring),
        **extra,
    )


@router.get("/environments/{env_id}", response_class=HTMLResponse, response_model=None)
def environment_page(env_id: str, request: Request, runtime: RuntimeDep) -> Response:
    try:
        session = _session(request, runtime)
        session.principal.require(env_id)
        return _environment_page(request, runtime, session, env_id)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)


@router.post("/environments/{env_id}", response_class=HTMLResponse, response_model=None)
async def save_environment(env_id: str, request: Request, runtime: RuntimeDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    auth = _auth(runtime)

    def save() -> Response:
        try:
            session = _session(request, runtime)
        except UnauthorizedError:
            return _to_login()
        try:
            session.principal.require(env_id)
            auth.check_csrf(session, form.get("csrf"))
            with runtime.db.write() as uow:
                env = runtime.environments.get(uow, env_id)
                doc = settings_from_form(env.settings, form)
                runtime.environments.update(uow, env_id, name=form.get("name") or None, settings_patch=doc)
        except ActionMFAError as err:
            if err.status == 404:
                return _render(request, "error.html", status=404, error=err.message)
            return _environment_page(
                request, runtime, session, env_id, status=err.status, error=err.message, error_field=err.field
            )
        return _environment_page(request, runtime, session, env_id, saved=True)

    return await run_in_threadpool(save)


@router.get("/environments/{env_id}/audit", response_class=HTMLResponse, response_model=None)
def audit_page(env_id: str, request: Request, runtime: RuntimeDep, cursor: int | None = None) -> Response:
    try:
        session = _session(request, runtime)
        session.principal.require(env_id)
        with runtime.db.read() as uow:
            env = runtime.environments.get(uow, env_id)
            rows, next_cursor = audit.page(uow, env_id, cursor=cursor, limit=50)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    return _render(request, "audit.html", env=env, rows=rows, next_cursor=next_cursor)


@router.get("/environments/{env_id}/users", response_class=HTMLResponse, response_model=None)
def users_page(env_id: str, request: Request, runtime: RuntimeDep, cursor: str | None = None) -> Response:
    try:
        session = _session(request, runtime)
        session.principal.require(env_id)
        with runtime.db.read() as uow:
            env = runtime.environments.get(uow, env_id)
            users = uow.users.list(env_id, limit=100, after_id=cursor)
    except UnauthorizedError:
        return _to_login()
    except ActionMFAError as err:
        return _render(request, "error.html", status=err.status, error=err.message)
    return _render(request, "users.html", env=env, users=users, next_cursor=users[-1].id if len(users) == 100 else None)
