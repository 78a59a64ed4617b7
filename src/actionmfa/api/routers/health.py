"""Liveness and database reach."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from actionmfa import __version__
from actionmfa.api.deps import OperatorDep

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
