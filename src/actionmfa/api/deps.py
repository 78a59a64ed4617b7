"""FastAPI dependencies: the runtime, the caller's session, the admin principal.

Routers declare what they need with the ``Annotated`` aliases below and stay free of auth logic.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from actionmfa.domain.actions import ELEVATED_TOKEN_HEADER, MFA_TOKEN_HEADER, SessionScope
from actionmfa.domain.models import AuthContext, RequestMeta
from actionmfa.errors import MfaRequiredError, UnauthorizedError
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def request_meta(request: Request, runtime: RuntimeDep) -> RequestMeta:
    address = request.client.host if request.client else None
    if runtime.config.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            address = forwarded.split(",")[0].strip()
    return RequestMeta(
        client_address=address,
        request_id=request.headers.get("x-dyn-request-id") or request.headers.get("x-request-id"),
        user_agent=request.headers.get("user-agent"),
    )


MetaDep = Annotated[RequestMeta, Depends(request_meta)]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise UnauthorizedError("Missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("Missing bearer token")
    return token.strip()


def session_any_scope(
    environmentId: str,
    runtime: RuntimeDep,
    meta: MetaDep,
    authorization: Annotated[str | None, Header()] = None,
) -> AuthContext:
    """A live session of this environment, including one still waiting for session MFA."""
    token = _bearer(authorization)
    with runtime.db.read() as uow:
        return runtime.sessions.authenticate(uow, environmentId, token, meta)


PendingAuthDep = Annotated[AuthContext, Depends(session_any_scope)]


def session_full_scope(ctx: PendingAuthDep) -> AuthContext:
    """A session that has completed session-based MFA (scope ``user:basic``)."""
    if ctx.session.scope is SessionScope.REQUIRES_ADDITIONAL_AUTH:
        raise MfaRequiredError()
    return ctx


AuthDep = Annotated[AuthContext, Depends(session_full_scope)]


def admin_principal(runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> AdminPrincipal:
    token = _bearer(authorization)
    with runtime.db.read() as uow:
        return runtime.environments.authenticate_admin(uow, token)


AdminDep = Annotated[AdminPrincipal, Depends(admin_principal)]

MfaTokenHeader = Annotated[str | None, Header(alias=MFA_TOKEN_HEADER)]
ElevatedTokenHeader = Annotated[str | None, Header(alias=ELEVATED_TOKEN_HEADER)]
