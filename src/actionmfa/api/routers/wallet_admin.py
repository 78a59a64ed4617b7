"""Operator routes for embedded wallets: the webhook secret (shown once); delegation approved or revoked
for users to complete at their next sign-in (issue 13.2: body ``{userId?}`` — one user's wallets, or
every wallet of the environment)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AdminDep, OperatorDep, WalletsDep
from actionmfa.api.responses import ADMIN, errors
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import DelegateRing, DelegateRingBody, DelegationDecision, DelegationSecret
from actionmfa.domain.wallets import PendingAction
from actionmfa.wallet.keyproofs import ClientRing

router = APIRouter(tags=["admin"], responses=ADMIN)


class DelegationDecisionBody(WireModel):
    userId: str | None = Field(default=None, max_length=64)


@router.post("/environments/{environmentId}/waas/delegatedAccess/secret", operation_id="createDelegationSecret")
def new_delegation_secret(environmentId: str, admin: AdminDep, wallets: WalletsDep) -> DelegationSecret:
    """A new HMAC-SHA256 key for the environment's webhooks (docs/webhooks.md); the old one keeps
    signing beside it for 24 hours, then stops."""
    secret = wallets.admin.new_delegation_secret(admin, environmentId)
    return DelegationSecret(environmentId=environmentId, hmacSecret=secret)


@router.post("/environments/{environmentId}/waas/delegatedAccess/ringPedersen", operation_id="registerDelegateRing",
             responses=errors(422))  # 422 wallet_proof_invalid: Πprm does not verify
def register_delegate_ring(environmentId: str, body: DelegateRingBody, admin: AdminDep,
                           wallets: WalletsDep) -> DelegateRing:
    """The delegate's ring-Pedersen parameters (N̂, ŝ, t̂) with Πprm (CGGMP21 §C.2): required before a
    wallet can be delegated; each delegate pair set-up then proves its Paillier key (Πfac) and
    encrypted share (Πlog*) against them (docs/wallet-security.md §3). Replaces earlier ones."""
    ring = ClientRing.from_json(body.model_dump())
    digest = wallets.admin.register_delegate_ring(admin, environmentId, ring)
    return DelegateRing(environmentId=environmentId, digest=digest)


@router.post("/environments/{environmentId}/waas/delegation/approve", operation_id="approveDelegation",
             responses=errors(409))  # 409 delegated_access_disabled
def approve_delegation(environmentId: str, body: DelegationDecisionBody, admin: AdminDep,
                       wallets: WalletsDep) -> DelegationDecision:
    """Mark 2-of-2 wallets (one user's, or all) ``approve_delegation``: each user's next sign-in
    reshares to 2-of-3 under the ``wallet.waas.reshare`` gate, or declines."""
    marks = wallets.admin.mark_delegation(admin, environmentId, PendingAction.APPROVE_DELEGATION, user_id=body.userId)
    return DelegationDecision(environmentId=environmentId, pendingAction=PendingAction.APPROVE_DELEGATION.value,
                              walletIds=marks.marked, withdrawnWalletIds=marks.withdrawn)


@router.post("/environments/{environmentId}/waas/delegation/revoke", operation_id="revokeDelegation",
             responses=errors(409))  # 409 delegated_access_disabled
def revoke_delegation(environmentId: str, body: DelegationDecisionBody, admin: AdminDep,
                      wallets: WalletsDep) -> DelegationDecision:
    """Mark 2-of-3 wallets (one user's, or all — the answer to a leaked developer key)
    ``revoke_delegation``: each user's next sign-in reshares back to 2-of-2. Approvals not yet
    completed (of that user, or all) are withdrawn (``withdrawnWalletIds``)."""
    marks = wallets.admin.mark_delegation(admin, environmentId, PendingAction.REVOKE_DELEGATION, user_id=body.userId)
    return DelegationDecision(environmentId=environmentId, pendingAction=PendingAction.REVOKE_DELEGATION.value,
                              walletIds=marks.marked, withdrawnWalletIds=marks.withdrawn)


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
