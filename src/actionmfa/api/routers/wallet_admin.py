"""Operator routes for embedded wallets: the delegation webhook secret (shown once)."""

from __future__ import annotations

from fastapi import APIRouter

from actionmfa.api.deps import AdminDep, WalletsDep
from actionmfa.api.responses import ADMIN
from actionmfa.api.wallet_wire import DelegationSecret

router = APIRouter(tags=["admin"], responses=ADMIN)


@router.post("/environments/{environmentId}/waas/delegatedAccess/secret", operation_id="createDelegationSecret")
def new_delegation_secret(environmentId: str, admin: AdminDep, wallets: WalletsDep) -> DelegationSecret:
    """A new HMAC-SHA256 key for ``wallet.delegation.*`` webhooks; the old one stops working."""
    secret = wallets.admin.new_delegation_secret(admin, environmentId)
    return DelegationSecret(environmentId=environmentId, hmacSecret=secret)
