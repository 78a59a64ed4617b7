"""Operator routes for embedded wallets: the delegation webhook secret (shown once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actionmfa.api.deps import AdminDep, RuntimeDep
from actionmfa.services.wallets.reshare import create_delegation_secret

router = APIRouter(tags=["admin"])


@router.post("/environments/{environmentId}/waas/delegatedAccess/secret")
def new_delegation_secret(environmentId: str, admin: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    """A new HMAC-SHA256 key for ``wallet.delegation.*`` webhooks; the old one stops working."""
    admin.require(environmentId)
    with runtime.db.write() as uow:
        runtime.environments.get(uow, environmentId)
        secret = create_delegation_secret(uow, runtime.keyring, environmentId, now=runtime.clock.now())
    return {"environmentId": environmentId, "hmacSecret": secret}
