"""The ASGI application: routers, error handling, body limits, start-up migration."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import NoMatchFound

from actionmfa import __version__
from actionmfa.api.errors import MethodTable, install_error_handlers
from actionmfa.api.limits import BodySizeLimit
from actionmfa.api.metrics import Metrics
from actionmfa.api.observability import RequestObserver, fastapi_telemetry
from actionmfa.api.responses import errors
from actionmfa.api.threads import RequestThreads
from actionmfa.config import REQUEST_THREADS
from actionmfa.services.runtime import Runtime

log = logging.getLogger("actionmfa")

SDK_PREFIX = "/api/v0/sdk/{environmentId}"

# (module, prefix). Every area owns one module; all are mounted here.
ROUTERS: tuple[tuple[str, str], ...] = (
    ("actionmfa.api.routers.health", ""),
    ("actionmfa.api.routers.landing", ""),
    ("actionmfa.api.routers.public", SDK_PREFIX),
    ("actionmfa.api.routers.auth", SDK_PREFIX),
    ("actionmfa.api.routers.users", SDK_PREFIX),
    ("actionmfa.api.routers.mfa", SDK_PREFIX),
    ("actionmfa.api.routers.stepup", SDK_PREFIX),
    ("actionmfa.api.routers.approvals", SDK_PREFIX),
    ("actionmfa.api.routers.passkeys", SDK_PREFIX),
    ("actionmfa.api.routers.wallets", SDK_PREFIX),
    ("actionmfa.api.routers.admin", "/api/v0"),
    ("actionmfa.api.routers.mfa_admin", "/api/v0"),
    ("actionmfa.api.routers.wallet_admin", "/api/v0"),
    ("actionmfa.api.routers.pregenerated_admin", "/api/v0"),
    ("actionmfa.api.routers.wallet_delegated", "/api/v0"),
    ("actionmfa.api.routers.ui", ""),
    ("actionmfa.api.routers.dashboard", ""),
)

# The routers of the hot paths (liveness; TOTP, recovery-code and passkey auth; GET/PUT /users) are
# mounted before the rest: FastAPI matches a request against the routes in mounting order, and each
# route (and router) passed over costs event-loop time — in-process, TOTP auth's loop CPU fell by
# ~20 µs per request (median) with its router first (issue 15). No path of theirs is also a path of
# a router mounted after them (tests/api/test_route_order.py); the OpenAPI document keeps the order
# of ROUTERS (:func:`documented_openapi`).
MATCHED_FIRST = frozenset({
    "actionmfa.api.routers.health",
    "actionmfa.api.routers.users",
    "actionmfa.api.routers.mfa",
    "actionmfa.api.routers.passkeys",
})


def mounting_order() -> list[tuple[str, str]]:
    """:data:`ROUTERS` with the :data:`MATCHED_FIRST` ones first (each group in its own order)."""
    return [r for r in ROUTERS if r[0] in MATCHED_FIRST] + [r for r in ROUTERS if r[0] not in MATCHED_FIRST]


def documented_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the document's paths in the order of :data:`ROUTERS` rather than the
    mounting order, so that the document (a contract, tests/vectors/openapi.json) does not change."""
    build = app.openapi
    order = list(dict.fromkeys(
        prefix + route.path
        for name, prefix in ROUTERS
        for route in importlib.import_module(name).router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    ))

    def openapi() -> dict[str, Any]:
        schema = build()  # built once and kept by FastAPI; the paths are reordered in place once
        paths: dict[str, Any] = schema.get("paths", {})
        schema["paths"] = {**{p: paths[p] for p in order if p in paths}, **paths}
        return schema

    return openapi


def warm_routes(app: FastAPI) -> None:
    """Have FastAPI build every route's request handling now rather than on a route's first request
    (``actionmfa serve`` calls it in each worker before it listens).

    FastAPI 0.165 builds an included router's routes (body and response adapters, dependency trees)
    when a request first reaches that router: in-process, the first TOTP auth of a fresh app took
    380 ms against 67 ms with this done first (~0.3 s at start instead). Resolving a name no route
    has walks every included router, which builds them all."""
    with suppress(NoMatchFound):
        app.url_path_for("actionmfa-warm-up: no route has this name")


def create_app(runtime: Runtime, *, migrate: bool = True) -> FastAPI:
    """Build the app around an existing runtime. ``migrate`` runs Alembic at start-up."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if migrate:
            runtime.db.migrate()
        # The sync routes' thread pool, matched to the PostgreSQL connection pool (store/db.py).
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        worker = runtime.services.core.webhooks
        if runtime.config.webhook_interval_seconds > 0:  # every server process delivers webhooks
            worker.interval_seconds = runtime.config.webhook_interval_seconds
            worker.start()
        yield
        threads.shutdown()
        runtime.close()

    app = FastAPI(
        title="ActionMFA",
        version=__version__,
        lifespan=lifespan,
        # Every route: the body limits and request validation run before it (api/limits.py); what
        # each route adds is declared on it (api/responses.py).
        responses=errors(413, 422),
        telemetry=fastapi_telemetry(os.environ),
    )
    app.state.runtime = runtime
    threads = app.state.threads = RequestThreads(runtime.db.request_threads)  # the hot routes' hops (api/threads.py)
    install_error_handlers(app)
    methods = MethodTable()
    templates: dict[int, str] = {}  # id(route) -> its full path template, for metrics and logs
    for module_name, prefix in mounting_order():
        module = importlib.import_module(module_name)
        app.include_router(module.router, prefix=prefix)
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.methods:
                methods.add(prefix + route.path, route.methods)
            templates[id(route)] = prefix + str(getattr(route, "path", ""))
    app.state.methods = methods
    app.openapi = documented_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=runtime.config.max_body_bytes)
    health = runtime.services.operator.health
    metrics = Metrics(ceremonies_open=health.ceremonies_open, pool_depth=health.pool_depth,
                      webhook_backlog=health.webhook_backlog)
    app.state.metrics = metrics
    # One app's metrics observe the runtime's audit rows (an app built again replaces the last one).
    observers = runtime.db.audit_observers
    observers[:] = [o for o in observers if not isinstance(getattr(o, "__self__", None), Metrics)]
    observers.append(metrics.observe_audit)
    app.add_middleware(RequestObserver, metrics=metrics, templates=templates)  # outermost: times and logs every answer
    return app
