"""Unauthenticated SDK reads: settings and the session-key JWKS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actionmfa.api.deps import RuntimeDep

router = APIRouter(tags=["sdk"])


@router.get("/settings")
def get_settings(environmentId: str, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db.read() as uow:
        env = runtime.environments.get(uow, environmentId)
    return env.settings.public()


@router.get("/.well-known/jwks.json")
def get_jwks(environmentId: str, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db.read() as uow:
        runtime.environments.get(uow, environmentId)
        return runtime.keys.jwks(uow, environmentId, runtime.clock.now())
