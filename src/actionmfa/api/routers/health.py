"""Liveness and database reach."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from actionmfa import __version__
from actionmfa.api.deps import OperatorDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(operator: OperatorDep) -> JSONResponse:
    db_ok = operator.health.database_reachable()
    body = {
        "status": "ok" if db_ok else "degraded",
        "database": "ok" if db_ok else "unreachable",
        "version": __version__,
    }
    return JSONResponse(status_code=200 if db_ok else 503, content=body)
