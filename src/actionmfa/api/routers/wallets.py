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
from actionmfa.api.responses import FULL_SESSION, errors, links
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import (
    CeremonyRound,
    ClaimedShare,
    EvmSignKind,
    ExportedShare,
    KeygenFinished,
    KeygenOpened,
    SignatureResult,
    SignKind,
    SignOpened,
    WalletCeremonyOpened,
    WalletList,
    WalletUpdated,
)
from actionmfa.domain.wallets import CeremonyKind, Chain
from actionmfa.wallet.payloads import SignRequest
from actionmfa.wallet.reshare import ThresholdScheme
from actionmfa.wallet.solana.payloads import SolanaSignRequest, is_solana_kind

router = APIRouter(tags=["wallets"], responses=FULL_SESSION | errors(409, 423, 429))


class CreateBody(WireModel):
    chain: str = Field(default="EVM", pattern="^(EVM|SOL)$")


class RoundBody(WireModel):
    message: dict[str, Any]


class SignOpenBody(WireModel):
    kind: SignKind
    payload: Any


class SignRoundBody(WireModel):
    kind: SignKind
    payload: Any
    message: dict[str, Any]
    keyVersion: int | None = None  # the share version the client signs with (refused if stale)


class SignNonceBody(SignRoundBody):
    """The nonce round is two-party ECDSA's (EVM kinds); FROST (Solana) goes from open to complete."""

    kind: EvmSignKind


class ReshareBody(WireModel):
    """Dynamic's ``ReshareRequest`` names (``clientKeygenIds``, ``shareSetId`` … are not used here).
    Three transitions are made: TWO_OF_TWO → TWO_OF_THREE with ``delegateToProjectEnvironment``,
    TWO_OF_THREE → TWO_OF_TWO with ``revokeDelegation``, and TWO_OF_THREE → TWO_OF_THREE with neither
    (the refresh of a delegated wallet, gate ``wallet.waas.refresh``); any other combination is refused (422,
    ``field: newThresholdSignatureScheme``). The document does not say it as a ``oneOf`` of
    constants: client generators (openapi-python-client) cannot build a model from one."""

    oldThresholdSignatureScheme: ThresholdScheme
    newThresholdSignatureScheme: ThresholdScheme
    delegateToProjectEnvironment: bool = False
    revokeDelegation: bool = False


class ExportBody(WireModel):
    recipientPublicKey: str = Field(max_length=512)
    encryptionType: str = Field(default="HPKE", pattern="^HPKE$")


def _request(body: SignOpenBody | SignRoundBody) -> SignRequest:
    return SignRequest.from_json({"kind": body.kind, "payload": body.payload})


def request_id_header(x_dyn_request_id: str | None = Header(default=None, alias="x-dyn-request-id")) -> str | None:
    return x_dyn_request_id


@router.post("/waas/create", operation_id="createWaasAccount",
             openapi_extra=links(200, completeWaasAccount={"ceremonyId": "$response.body#/ceremonyId"}))
def open_keygen(body: CreateBody, ctx: AuthDep, wallets: WalletsDep) -> KeygenOpened:
    if body.chain == Chain.SOL.value:
        return KeygenOpened.model_validate(wallets.solana.keygen.open_keygen(ctx))
    return KeygenOpened.model_validate(wallets.keygen.open_keygen(ctx))


@router.post("/waas/create/{ceremonyId}", operation_id="completeWaasAccount")
def finish_keygen(ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> KeygenFinished:
    if wallets.solana.shares.ceremony_chain(ctx, ceremonyId, CeremonyKind.KEYGEN) is Chain.SOL:
        return KeygenFinished.model_validate(wallets.solana.keygen.finish_keygen(ctx, ceremonyId, body.message))
    return KeygenFinished.model_validate(wallets.keygen.finish_keygen(ctx, ceremonyId, body.message))


class KeygenAbandoned(WireModel):
    walletId: str
    abandoned: bool


@router.post("/waas/create/{ceremonyId}/abandon", operation_id="abandonWaasAccount")
def abandon_keygen(ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> KeygenAbandoned:
    """The SDK refused the server's final answer (a proof failed): drop the wallet that round stored,
    on a Schnorr proof of the device's share for this creation (only just after it, never used)."""
    return KeygenAbandoned.model_validate(wallets.keygen.abandon_keygen(ctx, ceremonyId, body.message))


@router.get("/waas/wallets", operation_id="getWaasWallets")
def list_wallets(ctx: AuthDep, wallets: WalletsDep) -> WalletList:
    return WalletList.model_validate({"wallets": [w.to_json() for w in wallets.keygen.list_wallets(ctx)]})


@router.post("/waas/{walletId}/signMessage", operation_id="signMessage",
             openapi_extra=links(200, signMessageNonce={"walletId": "$request.path.walletId",
                                                        "ceremonyId": "$response.body#/ceremonyId"}))
def open_sign(walletId: str, body: SignOpenBody, proof: ProofDep, ctx: AuthDep, wallets: WalletsDep) -> SignOpened:
    request = body.model_dump(mode="json")
    if is_solana_kind(body.kind):
        return SignOpened.model_validate(
            wallets.solana.signing.open_sign(ctx, walletId, SolanaSignRequest.from_json(request), proof))
    return SignOpened.model_validate(wallets.signing.open_sign(ctx, walletId, SignRequest.from_json(request), proof))


@router.post("/waas/{walletId}/signMessage/{ceremonyId}/nonce", operation_id="signMessageNonce")
def sign_nonce(walletId: str, ceremonyId: str, body: SignNonceBody, ctx: AuthDep,
               wallets: WalletsDep) -> CeremonyRound:
    return CeremonyRound.model_validate(wallets.signing.sign_nonce(ctx, walletId, ceremonyId, _request(body),
                                                                   body.message, key_version=body.keyVersion))


@router.post("/waas/{walletId}/signMessage/{ceremonyId}/complete", operation_id="signMessageComplete")
def sign_complete(walletId: str, ceremonyId: str, body: SignRoundBody, ctx: AuthDep,
                  wallets: WalletsDep) -> SignatureResult:
    if is_solana_kind(body.kind):  # FROST has no nonce round: open, then complete
        return SignatureResult.model_validate(wallets.solana.signing.sign_complete(
            ctx, walletId, ceremonyId, SolanaSignRequest.from_json(body.model_dump(mode="json")), body.message,
            key_version=body.keyVersion,
        ))
    return SignatureResult.model_validate(wallets.signing.sign_complete(
        ctx, walletId, ceremonyId, _request(body), body.message, key_version=body.keyVersion))


@router.post("/waas/{walletId}/privateKey/export", operation_id="exportPrivateKey")
def export_private_key(
    walletId: str,
    body: ExportBody,
    proof: ProofDep,
    request_id: Annotated[str | None, Depends(request_id_header)],
    ctx: AuthDep,
    wallets: WalletsDep,
    meta: MetaDep,
) -> ExportedShare:
    service = wallets.solana.export if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL else wallets.export
    return ExportedShare.model_validate(service.export(
        ctx, walletId, recipient_public_key=body.recipientPublicKey, request_id=request_id or meta.request_id or "",
        proof=proof))


@router.post("/waas/{walletId}/refresh", operation_id="refreshKeyShares")
def open_refresh(walletId: str, proof: ProofDep, ctx: AuthDep, wallets: WalletsDep) -> WalletCeremonyOpened:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return WalletCeremonyOpened.model_validate(wallets.solana.refresh.open_refresh(ctx, walletId, proof))
    return WalletCeremonyOpened.model_validate(wallets.refresh.open_refresh(ctx, walletId, proof))


@router.post("/waas/{walletId}/refresh/{ceremonyId}", operation_id="refreshKeySharesRound")
def refresh_open(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> CeremonyRound:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return CeremonyRound.model_validate(
            wallets.solana.refresh.refresh_open(ctx, walletId, ceremonyId, body.message))
    return CeremonyRound.model_validate(wallets.refresh.refresh_open(ctx, walletId, ceremonyId, body.message))


@router.post("/waas/{walletId}/refresh/{ceremonyId}/confirm", operation_id="refreshKeySharesConfirm")
def refresh_confirm(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep,
                    wallets: WalletsDep) -> WalletUpdated:
    if wallets.solana.shares.chain_of(ctx, walletId) is Chain.SOL:
        return WalletUpdated.model_validate(
            wallets.solana.refresh.refresh_confirm(ctx, walletId, ceremonyId, body.message))
    return WalletUpdated.model_validate(wallets.refresh.refresh_confirm(ctx, walletId, ceremonyId, body.message))


@router.post("/waas/{walletId}/claim", operation_id="claimPregeneratedWallet")
def claim_pregenerated(walletId: str, body: ExportBody, ctx: AuthDep, wallets: WalletsDep) -> ClaimedShare:
    """A pregenerated wallet's stand-in share, HPKE-sealed to ``recipientPublicKey`` (issue 13.1). The
    wallet signs only after the refresh that follows (gate ``wallet.waas.refresh``), which erases the
    stand-in share; 409 ``wallet_already_claimed`` afterwards."""
    return ClaimedShare.model_validate(
        wallets.pregenerated.claim(ctx, walletId, recipient_public_key=body.recipientPublicKey))


@router.post("/waas/{walletId}/delegation/decline", operation_id="declineDelegation")
def decline_delegation(walletId: str, ctx: AuthDep, wallets: WalletsDep) -> WalletUpdated:
    """Decline a delegation the operator approved (``pendingAction: approve_delegation``)."""
    return WalletUpdated.model_validate(wallets.pending.decline(ctx, walletId))


@router.post("/waas/{walletId}/reshare", operation_id="reshare")
def open_reshare(walletId: str, body: ReshareBody, proof: ProofDep, ctx: AuthDep,
                 wallets: WalletsDep) -> WalletCeremonyOpened:
    wallets.solana.shares.refuse_reshare(ctx, walletId)
    return WalletCeremonyOpened.model_validate(wallets.reshare.open(
        ctx, walletId, old=body.oldThresholdSignatureScheme.value, new=body.newThresholdSignatureScheme.value,
        delegate=body.delegateToProjectEnvironment, revoke=body.revokeDelegation, proof=proof,
    ))


@router.post("/waas/{walletId}/reshare/{ceremonyId}", operation_id="reshareRound")
def reshare_deal(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep, wallets: WalletsDep) -> CeremonyRound:
    return CeremonyRound.model_validate(wallets.reshare.deal(ctx, walletId, ceremonyId, body.message))


@router.post("/waas/{walletId}/reshare/{ceremonyId}/confirm", operation_id="reshareConfirm")
def reshare_confirm(walletId: str, ceremonyId: str, body: RoundBody, ctx: AuthDep,
                    wallets: WalletsDep) -> WalletUpdated:
    return WalletUpdated.model_validate(wallets.reshare.confirm(ctx, walletId, ceremonyId, body.message))
