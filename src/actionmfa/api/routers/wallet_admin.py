"""Operator routes for embedded wallets: the delegation webhook secret (shown once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actionmfa.api.deps import AdminDep, WalletsDep

router = APIRouter(tags=["admin"])


@router.post("/environments/{environmentId}/waas/delegatedAccess/secret")
def new_delegation_secret(environmentId: str, admin: AdminDep, wallets: WalletsDep) -> dict[str, Any]:
    """A new HMAC-SHA256 key for ``wallet.delegation.*`` webhooks; the old one stops working."""
    secret = wallets.admin.new_delegation_secret(admin, environmentId)
    return {"environmentId": environmentId, "hmacSecret": secret}
