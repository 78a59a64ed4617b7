"""Operator routes for embedded wallets: the delegation webhook secret (shown once)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AdminDep, OperatorDep, WalletsDep
from actionmfa.api.responses import ADMIN
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import DelegationSecret

router = APIRouter(tags=["admin"], responses=ADMIN)


@router.post("/environments/{environmentId}/waas/delegatedAccess/secret", operation_id="createDelegationSecret")
def new_delegation_secret(environmentId: str, admin: AdminDep, wallets: WalletsDep) -> DelegationSecret:
    """A new HMAC-SHA256 key for ``wallet.delegation.*`` webhooks; the old one stops working."""
    secret = wallets.admin.new_delegation_secret(admin, environmentId)
    return DelegationSecret(environmentId=environmentId, hmacSecret=secret)


class UnlockBody(WireModel):
    note: str = Field(default="", max_length=200, description="why the lock is cleared (kept in the audit log)")


class UnlockResponse(WireModel):
    walletId: str
    unlocked: bool = Field(description="false if the wallet was not locked")


@router.post("/environments/{environmentId}/waas/{walletId}/unlock", operation_id="unlockWallet",
             response_model=UnlockResponse)
def unlock_wallet(
    environmentId: str, walletId: str, body: UnlockBody, admin: AdminDep, operator: OperatorDep
) -> UnlockResponse:
    """Clear a wallet's signing lock (set after a ceremony produced an invalid signature,
    CVE-2023-33242); audited ``wallet.unlocked``. Read docs/wallet-security.md §6 first."""
    changed = operator.users.unlock_wallet(admin, environmentId, walletId, operator="admin-api", note=body.note)
    return UnlockResponse(walletId=walletId, unlocked=changed)
