"""Embedded-wallet routes (DESIGN §5, §7): key generation, signing ceremonies, export.

``POST /waas/create`` opens key generation and ``POST /waas/create/{ceremonyId}`` finishes it;
``POST /waas/{walletId}/signMessage`` opens a signing ceremony (the MFA gate runs here) for a
message, typed data, a transaction or an EIP-7702 authorization, then
``…/signMessage/{ceremonyId}/nonce`` and ``…/signMessage/{ceremonyId}/complete`` run its rounds;
``POST /waas/{walletId}/privateKey/export`` returns the server share sealed with HPKE;
``POST /waas/{walletId}/refresh`` (then ``…/refresh/{ceremonyId}`` and ``…/confirm``) re-randomises
both shares with a coin toss and a new Paillier key;
``POST /waas/{walletId}/reshare`` (then ``…/reshare/{ceremonyId}`` and ``…/confirm``) moves the key
between 2-of-2 and 2-of-3 with the environment's delegate (delegated access, or its revocation).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import Field

from actionmfa.api.deps import AuthDep, MetaDep, ProofDep, WalletsDep
from actionmfa.api.schemas import WireModel
from actionmfa.domain.wallets import CeremonyKind, Chain
from actionmfa.wallet.payloads import SignRequest
from actionmfa.wallet.solana.payloads import SolanaSignRequest, is_solana_kind

router = APIRouter(tags=["wallets"])


class CreateBody(WireModel):
    chain: str = Field(default="EVM", pattern="^(EVM|SOL)$")


class RoundBody(WireModel):
    message: dict[str, Any]


class SignOpenBody(WireModel):
    kind: str
    payload: Any


class SignRoundBody(WireModel):
    kind: str
    payload: Any
    message: dict[str, Any]
    keyVersion: int | None = None  # the share version the client signs with (refused if stale)


class ReshareBody(WireModel):
    """Dynamic's ``ReshareRequest`` names (``clientKeygenIds``, ``shareSetId`` … are not used here)."""

    oldThresholdSignatureScheme: str = Field(max_length=32)
    newThresholdSignatureScheme: str = Field(max_length=32)
    delegateToProjectEnvironment: bool = False
    revokeDelegation: bool = False


class ExportBody(WireModel):
    recipientPublicKey: str = Field(max_length=512)
    encryptionType: str = Field(default="HPKE", pattern="^HPKE$")


def _request(body: SignOpenBody | SignRoundBody) -> SignRequest:
    return SignRequest.from_json({"kind": body.kind, "payload": body.payload})


def request_id_header(x_dyn_request_id: str | None = Header(default=None, alias="x-dyn-request-id")) -> str | None:
    return x_dyn_request_id


@router.post("/waas/create")
def open_keygen(body: CreateBody, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    if body.chain == Chain.SOL.value:
        return wallets.solana.keygen.open_keygen(ctx)
    return wallets.keygen.open_keygen(ctx)


@router.post("/waas/create/{ceremonyId}")
def finish_keygen(ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    if wallets.solana.shares.ceremony_chain(ctx, ceremonyId, CeremonyKind.KEYGEN) is Chain.SOL:
        return wallets.solana.keygen.finish_keygen(ctx, ceremonyId, body.message)
    return wallets.keygen.finish_keygen(ctx, ceremonyId, body.message)


@router.get("/waas/wallets")
def list_wallets(ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    return {"wallets": [w.to_json() for w in wallets.keygen.list_wallets(ctx)]}


@router.post("/waas/{walletId}/signMessage")
def open_sign(walletId: str, body: SignOpenBody, proof: ProofDep, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    if is_solana_kind(body.kind):
        return wallets.solana.signing.open_sign(ctx, walletId, SolanaSignRequest.from_json(body.model_dump()), proof)
    return wallets.signing.open_sign(ctx, walletId, SignRequest.from_json(body.model_dump()), proof)


@router.post("/waas/{walletId}/signMessage/{ceremonyId}/nonce")
def sign_nonce(walletId: str, ceremonyId: str, body: SignRoundBody, ctx: AuthDep,
               wallets: WalletsDep) -> dict[str, Any]:
    return wallets.signing.sign_nonce(ctx, walletId, ceremonyId, _request(body), body.message,
                                      key_version=body.keyVersion)


@router.post("/waas/{walletId}/signMessage/{ceremonyId}/complete")
def sign_complete(walletId: str, ceremonyId: str, body: SignRoundBody, ctx: AuthDep,
                  wallets: WalletsDep) -> dict[str, Any]:
    if is_solana_kind(body.kind):  # FROST has no nonce round: open, then complete
        return wallets.solana.signing.sign_complete(
            ctx, walletId, ceremonyId, SolanaSignRequest.from_json(body.model_dump()), body.message,
            key_version=body.keyVersion,
        )
    return wallets.signing.sign_complete(ctx, walletId, ceremonyId, _request(body), body.message,
                                         key_version=body.keyVersion)


@router.post("/waas/{walletId}/privateKey/export")
def export_private_key(
    walletId: str,
    body: ExportBody,
    proof: ProofDep,
    request_id: Annotated[str | None, Depends(request_id_header)],
    ctx: AuthDep,
    wallets: WalletsDep,
    meta: MetaDep,
) -> dict[str, Any]:
    service = wallets.solana.export if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL else wallets.export
    return service.export(ctx, walletId, recipient_public_key=body.recipientPublicKey,
                          request_id=request_id or meta.request_id or "", proof=proof)


@router.post("/waas/{walletId}/refresh")
def open_refresh(walletId: str, proof: ProofDep, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return wallets.solana.refresh.open_refresh(ctx, walletId, proof)
    return wallets.refresh.open_refresh(ctx, walletId, proof)


@router.post("/waas/{walletId}/refresh/{ceremonyId}")
def refresh_open(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return wallets.solana.refresh.refresh_open(ctx, walletId, ceremonyId, body.message)
    return wallets.refresh.refresh_open(ctx, walletId, ceremonyId, body.message)


@router.post("/waas/{walletId}/refresh/{ceremonyId}/confirm")
def refresh_confirm(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep,
                    wallets: WalletsDep) -> dict[str, Any]:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return wallets.solana.refresh.refresh_confirm(ctx, walletId, ceremonyId, body.message)
    return wallets.refresh.refresh_confirm(ctx, walletId, ceremonyId, body.message)


@router.post("/waas/{walletId}/delegation/decline")
def decline_delegation(walletId: str, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    """Decline a delegation the operator approved (``pendingAction: approve_delegation``)."""
    return wallets.pending.decline(ctx, walletId)


@router.post("/waas/{walletId}/reshare")
def open_reshare(walletId: str, body: ReshareBody, proof: ProofDep, ctx: AuthDep,
                 wallets: WalletsDep) -> dict[str, Any]:
    wallets.solana.shares.refuse_reshare(ctx, walletId)
    return wallets.reshare.open(
        ctx, walletId, old=body.oldThresholdSignatureScheme, new=body.newThresholdSignatureScheme,
        delegate=body.delegateToProjectEnvironment, revoke=body.revokeDelegation, proof=proof,
    )


@router.post("/waas/{walletId}/reshare/{ceremonyId}")
def reshare_deal(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> dict[str, Any]:
    return wallets.reshare.deal(ctx, walletId, ceremonyId, body.message)


@router.post("/waas/{walletId}/reshare/{ceremonyId}/confirm")
def reshare_confirm(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep,
                    wallets: WalletsDep) -> dict[str, Any]:
    return wallets.reshare.confirm(ctx, walletId, ceremonyId, body.message)
