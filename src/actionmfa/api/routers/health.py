"""Liveness (``/health``), readiness (``/health/ready``) and the Prometheus scrape (``/metrics``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from actionmfa import __version__
from actionmfa.api.deps import ConfigDep, OperatorDep
from actionmfa.api.metrics import Metrics
from actionmfa.api.schemas import ErrorBody, WireModel
from actionmfa.crypto import constant_time_equal
from actionmfa.errors import ForbiddenError, UnauthorizedError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str


@router.get(
    "/health",
    operation_id="getHealth",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
)
def health(operator: OperatorDep) -> JSONResponse:
    db_ok = operator.health.database_reachable()
    body = Health(status="ok" if db_ok else "degraded", database="ok" if db_ok else "unreachable", version=__version__)
    return JSONResponse(status_code=200 if db_ok else 503, content=body.model_dump())


class MigrationState(WireModel):
    current: str | None
    head: str | None
    atHead: bool


class KeyPoolState(WireModel):
    depth: int
    size: int
    required: int
    ready: bool


class ReadyResponse(WireModel):
    ready: bool
    database: Literal["ok", "unreachable"]
    migrations: MigrationState
    keyPool: KeyPoolState
    version: str


@router.get(
    "/health/ready",
    operation_id="getReadiness",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "Not ready: the body says which check failed"}},
)
def ready(operator: OperatorDep) -> JSONResponse:
    r = operator.health.readiness()
    body = ReadyResponse(
        ready=r.ready,
        database="ok" if r.database else "unreachable",
        migrations=MigrationState(current=r.revision, head=r.head, atHead=r.at_head),
        keyPool=KeyPoolState(depth=r.pool_depth, size=r.pool_size, required=r.pool_min, ready=r.pool_ready),
        version=__version__,
    )
    return JSONResponse(status_code=200 if r.ready else 503, content=body.model_dump(mode="json"))


def _loopback(request: Request) -> bool:
    # The socket's peer, never X-Forwarded-For: a proxy in front makes every scrape non-local.
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get(
    "/metrics",
    operation_id="getMetrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
        401: {"model": ErrorBody, "description": "ACTIONMFA_METRICS_TOKEN is set and was not presented"},
        403: {"model": ErrorBody, "description": "No metrics token is configured and the client is not local"},
    },
)
def metrics(
    request: Request,
    config: ConfigDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus metrics (docs/operations.md). With ``ACTIONMFA_METRICS_TOKEN`` set, the scraper
    sends ``Authorization: Bearer <token>``; without it, only loopback clients are answered."""
    if config.metrics_token:
        presented = (authorization or "").removeprefix("Bearer ").strip()
        if not authorization or not constant_time_equal(presented, config.metrics_token):
            raise UnauthorizedError("Metrics need the operator's metrics token")
    elif not _loopback(request):
        raise ForbiddenError("Metrics are served to loopback clients only (set ACTIONMFA_METRICS_TOKEN)")
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
