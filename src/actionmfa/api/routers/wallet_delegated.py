"""Delegated signing (server-side, API-key based; Dynamic's ``…/waas/{walletId}/delegatedAccess/signMessage``).

``Authorization: Bearer <wallet API key>`` (delivered sealed with ``wallet.delegation.created``). Same
three rounds and bodies as the user's ``signMessage`` ceremony; no MFA gate (the delegation was gated).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from actionmfa.api.deps import WalletsDep
from actionmfa.api.responses import errors
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import CeremonyRound, EvmSignKind, SignatureResult, SignOpened
from actionmfa.errors import UnauthorizedError
from actionmfa.wallet.payloads import SignRequest

router = APIRouter(tags=["wallets"], responses=errors(401, 403, 404, 409, 423, 429))

_BASE = "/environments/{environmentId}/waas/{walletId}/delegatedAccess/signMessage"
AuthorizationHeader = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, scheme_name="walletApiKey", description="The delegate's wallet API key")),
]


class DelegatedSignOpen(WireModel):
    kind: EvmSignKind
    payload: Any


class DelegatedSignRound(WireModel):
    kind: EvmSignKind
    payload: Any
    message: dict[str, Any]


def _api_key(credentials: HTTPAuthorizationCredentials | None) -> str:
    value = credentials.credentials.strip() if credentials is not None else ""
    if not value or len(value) > 200:
        raise UnauthorizedError("A wallet API key is required")
    return value


# The API key is checked for presence before the body is read: a caller without one learns nothing.
@router.post(_BASE, operation_id="delegatedSignMessage")
def open_delegated_sign(environmentId: str, walletId: str, body: DelegatedSignOpen, wallets: WalletsDep,
                        authorization: AuthorizationHeader = None) -> SignOpened:
    api_key = _api_key(authorization)
    request = SignRequest.from_json(body.model_dump(mode="json"))
    return SignOpened.model_validate(wallets.delegated.open(environmentId, walletId, api_key, request))


@router.post(_BASE + "/{ceremonyId}/nonce", operation_id="delegatedSignMessageNonce")
def delegated_sign_nonce(environmentId: str, walletId: str, ceremonyId: str, body: DelegatedSignRound,
                         wallets: WalletsDep, authorization: AuthorizationHeader = None) -> CeremonyRound:
    api_key = _api_key(authorization)
    request = SignRequest.from_json({"kind": body.kind, "payload": body.payload})
    return CeremonyRound.model_validate(
        wallets.delegated.nonce(environmentId, walletId, api_key, ceremonyId, request, body.message))


@router.post(_BASE + "/{ceremonyId}/complete", operation_id="delegatedSignMessageComplete")
def delegated_sign_complete(environmentId: str, walletId: str, ceremonyId: str, body: DelegatedSignRound,
                            wallets: WalletsDep, authorization: AuthorizationHeader = None) -> SignatureResult:
    api_key = _api_key(authorization)
    request = SignRequest.from_json({"kind": body.kind, "payload": body.payload})
    return SignatureResult.model_validate(
        wallets.delegated.complete(environmentId, walletId, api_key, ceremonyId, request, body.message))
