"""Operator route for pregenerated wallets (issue 13.1): a wallet for an email or an external-auth
``sub`` before that user exists. Body: ``{identities: [{identifier, type}], chains?}`` (up to 1,000),
or one identity as ``{identifier, type}`` (Dynamic's names)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from actionmfa.api.deps import AdminDep, WalletsDep
from actionmfa.api.responses import ADMIN, errors
from actionmfa.api.schemas import WireModel
from actionmfa.api.wallet_wire import PregeneratedWalletOut, PregeneratedWallets
from actionmfa.errors import InvalidRequestError
from actionmfa.services.wallets.pregenerated import MAX_BATCH, Identity

router = APIRouter(tags=["admin"], responses=ADMIN)

IdentityKind = Literal["email", "externalUserId"]


class IdentityBody(WireModel):
    identifier: str = Field(min_length=1, max_length=320)
    type: IdentityKind = "email"


class PregenerateBody(WireModel):
    identities: list[IdentityBody] | None = Field(
        default=None, json_schema_extra={"maxItems": MAX_BATCH},
        description=f"at most {MAX_BATCH} (422 pregenerated_batch_too_large beyond)")
    identifier: str | None = Field(default=None, min_length=1, max_length=320)
    type: IdentityKind = "email"
    chains: list[Literal["EVM"]] | None = Field(default=None, min_length=1, max_length=1,
                                                description="EVM only for now (default)")


@router.post("/environments/{environmentId}/waas/pregenerated", operation_id="createPregeneratedWallets",
             responses=errors(422))
def pregenerate(environmentId: str, body: PregenerateBody, admin: AdminDep,
                wallets: WalletsDep) -> PregeneratedWallets:
    """An EVM wallet for each identity, made with a server-side stand-in for the user's side: **the
    operator is custodial until the user claims it** (first sign-in, then a refresh gated by
    ``wallet.waas.refresh``). Idempotent per identity: a second call answers the same wallet."""
    if body.identities is None and body.identifier is None:
        raise InvalidRequestError("identities (or identifier) is required", field="identities")
    if body.identities is not None and body.identifier is not None:
        raise InvalidRequestError("give identities or identifier, not both", field="identifier")
    raw = body.identities if body.identities is not None else [IdentityBody(identifier=body.identifier or "",
                                                                            type=body.type)]
    identities = [Identity.parse(i.type, i.identifier, field=f"identities[{n}]") for n, i in enumerate(raw)]
    results = wallets.pregenerated.create(admin, environmentId, identities, chain=(body.chains or ["EVM"])[0])
    return PregeneratedWallets(environmentId=environmentId,
                               wallets=[PregeneratedWalletOut.model_validate(r.to_json()) for r in results])
