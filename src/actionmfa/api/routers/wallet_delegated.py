"""Delegated signing (server-side, API-key based; Dynamic's ``…/waas/{walletId}/delegatedAccess/signMessage``).

``Authorization: Bearer <wallet API key>`` (delivered sealed with ``wallet.delegation.created``). Same
three rounds and bodies as the user's ``signMessage`` ceremony; no MFA gate (the delegation was gated).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from actionmfa.api.deps import WalletsDep
from actionmfa.api.schemas import WireModel
from actionmfa.errors import UnauthorizedError
from actionmfa.wallet.payloads import SignRequest

router = APIRouter(tags=["wallets"])

_BASE = "/environments/{environmentId}/waas/{walletId}/delegatedAccess/signMessage"
AuthorizationHeader = Annotated[str | None, Header()]


class OpenBody(WireModel):
    kind: str
    payload: Any


class RoundBody(WireModel):
    kind: str
    payload: Any
    message: dict[str, Any]


def _api_key(authorization: str | None) -> str:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or len(value) > 200:
        raise UnauthorizedError("A wallet API key is required")
    return value.strip()


@router.post(_BASE)
def open_delegated_sign(environmentId: str, walletId: str, body: OpenBody, wallets: WalletsDep,
                        authorization: AuthorizationHeader = None) -> dict[str, Any]:
    request = SignRequest.from_json(body.model_dump())
    return wallets.delegated.open(environmentId, walletId, _api_key(authorization), request)


@router.post(_BASE + "/{ceremonyId}/nonce")
def delegated_sign_nonce(environmentId: str, walletId: str, ceremonyId: str, body: RoundBody, wallets: WalletsDep,
                         authorization: AuthorizationHeader = None) -> dict[str, Any]:
    request = SignRequest.from_json({"kind": body.kind, "payload": body.payload})
    return wallets.delegated.nonce(environmentId, walletId, _api_key(authorization), ceremonyId,
                                                request, body.message)


@router.post(_BASE + "/{ceremonyId}/complete")
def delegated_sign_complete(environmentId: str, walletId: str, ceremonyId: str, body: RoundBody,
                            wallets: WalletsDep, authorization: AuthorizationHeader = None) -> dict[str, Any]:
    request = SignRequest.from_json({"kind": body.kind, "payload": body.payload})
    return wallets.delegated.complete(environmentId, walletId, _api_key(authorization), ceremonyId,
                                                   request, body.message)
