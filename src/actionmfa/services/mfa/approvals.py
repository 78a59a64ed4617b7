"""Approval tickets: what the MFA prompt shows, sealed by the server (issue 12, deliverable 3).

``POST …/approvals`` describes a pending gated action — a signing payload or an export — with
:mod:`actionmfa.wallet.approval` and returns the description, its ``approvalDigest`` and a *ticket*:
the description sealed with the keyring (AES-GCM, ``aad`` ``approval:<environment id>``, 10 minutes).
The hosted prompt page opens the ticket and shows exactly that description — the page has no
session, so it can only display what the server derived, never text an attacker put in a link.
The SDK then asks the MFA route to mint its token with the same ``approvalDigest``, and the gate
refuses that token for any other payload (DESIGN §6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from actionmfa.clock import Clock, to_epoch
from actionmfa.crypto import DecryptionError, Keyring
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.approval import ApprovalView, describe, describe_export
from actionmfa.wallet.approval_solana import describe_solana
from actionmfa.wallet.payloads import SignRequest
from actionmfa.wallet.solana.payloads import SolanaSignRequest, is_solana_kind

TICKET_LIFETIME = timedelta(minutes=10)
MAX_TICKET_CHARS = 6000  # it travels in the prompt page's URL


@dataclass(frozen=True)
class Approval:
    view: ApprovalView
    ticket: str
    expires_at: int


class Approvals:
    def __init__(self, keyring: Keyring, clock: Clock) -> None:
        self.keyring = keyring
        self.clock = clock

    def create(
        self,
        ctx: AuthContext,
        *,
        action: str,
        kind: str | None,
        payload: Any,
        abi: list[dict[str, Any]] | None,
        wallet_id: str | None = None,
    ) -> Approval:
        app = ctx.settings.app_name()
        if action == MFAAction.WALLET_WAAS_EXPORT.value:
            view = describe_export(app=app)
        elif action == MFAAction.WALLET_WAAS_SIGN.value:
            if kind is None:
                raise InvalidRequestError("kind and payload are required to approve a signature", field="kind")
            if not wallet_id:  # the digest names the wallet: a token for wallet A never opens wallet B
                raise InvalidRequestError("walletId is required to approve a signature", field="walletId")
            doc = {"kind": kind, "payload": payload}
            if is_solana_kind(kind):
                view = describe_solana(SolanaSignRequest.from_json(doc), wallet_id=wallet_id, app=app)
            else:
                view = describe(SignRequest.from_json(doc), wallet_id=wallet_id, abi=abi, app=app)
        else:
            raise InvalidRequestError(
                "action must be wallet.waas.sign or wallet.waas.export", field="action"
            )
        expires = to_epoch(self.clock.now() + TICKET_LIFETIME)
        body = {"sid": ctx.session.id, "exp": expires, "view": view.to_json()}
        ticket = self.keyring.encrypt(json.dumps(body).encode(), aad=_aad(ctx.environment.id))
        if len(ticket) > MAX_TICKET_CHARS:  # a huge typed-data document: describe it in fewer rows
            trimmed = ApprovalView(view.action, view.title, (*view.rows[:12], ("…", "more fields not shown")),
                                   view.warning, view.digest)
            body["view"] = trimmed.to_json()
            ticket = self.keyring.encrypt(json.dumps(body).encode(), aad=_aad(ctx.environment.id))
        return Approval(view, ticket, expires)

    def open(self, environment_id: str, ticket: str) -> ApprovalView:
        """The description sealed in ``ticket`` (for the hosted prompt page); 422 if it is not one
        of this environment's live tickets."""
        try:
            body = json.loads(self.keyring.decrypt(ticket, aad=_aad(environment_id)))
        except (DecryptionError, ValueError):
            raise InvalidRequestError("This approval link is not valid", field="approval") from None
        if not isinstance(body, dict) or int(body.get("exp", 0)) <= to_epoch(self.clock.now()):
            raise InvalidRequestError("This approval has expired; start again from the app", field="approval")
        return ApprovalView.from_json(body["view"])


def _aad(environment_id: str) -> str:
    return f"approval:{environment_id}"
