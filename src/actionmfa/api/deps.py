"""FastAPI dependencies: the services, the caller's session, the admin principal, the MFA proof.

Routers declare what they need with the ``Annotated`` aliases below and stay free of auth logic and
of storage: ``MfaDep`` gives the MFA core's use cases, ``AuthDep`` a full session, ``ProofDep`` the
request's proof headers as one :class:`~actionmfa.domain.tokens.Proof`, and so on. None of these
adds a parameter to the OpenAPI document beyond the headers named here.

Every dependency is ``async``: the ones that only pick an object or read headers run on the event
loop (no thread hop); the ones that touch the database (the session, the admin principal) hand that
part to the request thread pool (:func:`actionmfa.api.threads.in_thread`, one cheap hop instead of
anyio's, issue 15).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from actionmfa.api.threads import RequestThreads, in_thread, request_threads
from actionmfa.config import ServerConfig
from actionmfa.domain.actions import ELEVATED_TOKEN_HEADER, MFA_TOKEN_HEADER, SessionScope
from actionmfa.domain.models import AuthContext, RequestMeta
from actionmfa.domain.tokens import Proof
from actionmfa.errors import MfaRequiredError, UnauthorizedError
from actionmfa.services.container import (
    CoreServices,
    MfaServices,
    OperatorServices,
    PasskeyServices,
    Services,
    SignInServices,
    WalletServices,
)
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.core.sessions import PresentedSession
from actionmfa.services.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_services(request: Request) -> Services:
    return _services(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.runtime.config
    return config


ConfigDep = Annotated[ServerConfig, Depends(get_config)]


# One level each, straight from the app's runtime: every nested dependency costs FastAPI's solver
# its own pass per request (issue 15).
def _services(request: Request) -> Services:
    services: Services = request.app.state.runtime.services
    return services


async def _core(request: Request) -> CoreServices:
    return _services(request).core


async def _signin(request: Request) -> SignInServices:
    return _services(request).signin


async def _mfa(request: Request) -> MfaServices:
    return _services(request).mfa


async def _passkeys(request: Request) -> PasskeyServices:
    return _services(request).passkeys


async def _wallets(request: Request) -> WalletServices:
    return _services(request).wallets


async def _operator(request: Request) -> OperatorServices:
    return _services(request).operator


CoreDep = Annotated[CoreServices, Depends(_core)]
SignInDep = Annotated[SignInServices, Depends(_signin)]
MfaDep = Annotated[MfaServices, Depends(_mfa)]
PasskeysDep = Annotated[PasskeyServices, Depends(_passkeys)]
WalletsDep = Annotated[WalletServices, Depends(_wallets)]
OperatorDep = Annotated[OperatorServices, Depends(_operator)]


async def _threads(request: Request) -> RequestThreads:
    return request_threads(request)


# For ``async def`` routes: their blocking part goes through ``await threads.run(fn, …)``.
ThreadsDep = Annotated[RequestThreads, Depends(_threads)]


async def request_meta(request: Request) -> RequestMeta:
    return _request_meta(request)


def _ip_address(text: str) -> str | None:
    """``text`` as a normalised IPv4/IPv6 address, or None if it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _request_meta(request: Request) -> RequestMeta:
    # uvicorn's proxy-header handling may have put a forwarded value here: at most a column's width.
    address = request.client.host[:64] if request.client and request.client.host else None
    if request.app.state.runtime.config.trust_proxy_headers:
        # The last entry is the one the (single, trusted) proxy appended: the peer it saw. Entries
        # before it are whatever the client sent, and the sign-in limits count per client address.
        # An entry that is not an IP address (a proxy that does not append, a client writing the
        # header itself) is not trusted: it would be stored in 64-character audit columns and
        # become the key the sign-in limits count by.
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            address = _ip_address(forwarded.rsplit(",", 1)[-1]) or address
    return RequestMeta(
        client_address=address,
        request_id=request.headers.get("x-dyn-request-id") or request.headers.get("x-request-id"),
        user_agent=request.headers.get("user-agent"),
    )


MetaDep = Annotated[RequestMeta, Depends(request_meta)]


# The OpenAPI document's security schemes (``Authorization: Bearer …``); the dependencies refuse a
# missing or malformed header themselves (401 ``unauthorized``, never FastAPI's 403).
SessionBearer = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, scheme_name="bearerAuth", description="The session JWT (or minifiedJwt)")),
]
AdminBearer = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, scheme_name="adminToken", description="An operator or environment token")),
]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise UnauthorizedError("Missing bearer token")
    return token


# The session dependencies take the services and the request's metadata straight from the request
# rather than as sub-dependencies (``CoreDep``, ``MetaDep``), and the full-scope one is not layered
# on the pending one: FastAPI solves every sub-dependency in its own pass (~8 µs of event-loop CPU
# each, issue 15), and every session route pays them.
async def session_any_scope(request: Request, environmentId: str, credentials: SessionBearer) -> AuthContext:
    """A live session of this environment, including one still waiting for session MFA (read on
    the request thread pool: :mod:`actionmfa.api.threads`)."""
    access = _services(request).core.access
    return await in_thread(request, access.session, environmentId, _bearer(credentials), _request_meta(request))


PendingAuthDep = Annotated[AuthContext, Depends(session_any_scope)]


async def presented_session(request: Request, environmentId: str, credentials: SessionBearer) -> PresentedSession:
    """A session JWT of this environment with its signature and claims checked (401 otherwise),
    for the hot routes whose use case reads the session row in its own transaction (one thread hop
    and one transaction per request, issue 15). Verified here on the event loop — a P-256 verify,
    less CPU than the thread hop it saves — unless its key is not cached yet (then on the pool)."""
    access = _services(request).core.access
    token = _bearer(credentials)
    if access.needs_key(environmentId, token):
        return await in_thread(request, access.presented, environmentId, token, _request_meta(request))
    return access.presented(environmentId, token, _request_meta(request))


# Same parameters (path, bearer) as PendingAuthDep; the route's use case loads the session.
PresentedDep = Annotated[PresentedSession, Depends(presented_session)]


async def session_full_scope(request: Request, environmentId: str, credentials: SessionBearer) -> AuthContext:
    """A session that has completed session-based MFA (scope ``user:basic``)."""
    ctx = await session_any_scope(request, environmentId, credentials)
    require_full_scope(ctx)
    return ctx


def require_full_scope(ctx: AuthContext) -> None:
    """For routes a pending session reaches (to enrol, say) but whose action needs a full one."""
    if ctx.session.scope is SessionScope.REQUIRES_ADDITIONAL_AUTH:
        raise MfaRequiredError()


AuthDep = Annotated[AuthContext, Depends(session_full_scope)]


async def bearer_token(credentials: SessionBearer) -> str:
    """The session JWT the request presents (routes that hand it back, as ``PUT /users`` does)."""
    return _bearer(credentials)


BearerDep = Annotated[str, Depends(bearer_token)]


async def admin_principal(request: Request, credentials: AdminBearer) -> AdminPrincipal:
    return await in_thread(request, _services(request).core.access.admin, _bearer(credentials))


AdminDep = Annotated[AdminPrincipal, Depends(admin_principal)]

MfaTokenHeader = Annotated[str | None, Header(alias=MFA_TOKEN_HEADER)]
ElevatedTokenHeader = Annotated[str | None, Header(alias=ELEVATED_TOKEN_HEADER)]


async def proof_headers(mfa_token: MfaTokenHeader = None, elevated_token: ElevatedTokenHeader = None) -> Proof:
    """The MFA proof the request presents (``x-mfa-auth-token``, ``x-dyn-elevated-access-token``)."""
    return Proof(mfa_token=mfa_token, elevated_token=elevated_token)


# Declare it before the session dependency in a route's signature: the OpenAPI document lists the
# proof headers first, as it always has.
ProofDep = Annotated[Proof, Depends(proof_headers)]
