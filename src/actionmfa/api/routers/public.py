"""Unauthenticated SDK reads: settings and the session-key JWKS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actionmfa.api.deps import CoreDep

router = APIRouter(tags=["sdk"])


@router.get("/settings")
def get_settings(environmentId: str, core: CoreDep) -> dict[str, Any]:
    return core.directory.public_settings(environmentId)


@router.get("/.well-known/jwks.json")
def get_jwks(environmentId: str, core: CoreDep) -> dict[str, Any]:
    return core.directory.jwks(environmentId)
