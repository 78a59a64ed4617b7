"""WaaS reshare (DESIGN §7): 2-of-2 ↔ 2-of-3 for delegated access, gated by ``wallet.waas.reshare``;
and the **refresh of a delegated wallet** (2-of-3 → 2-of-3, gated by ``wallet.waas.refresh``).

A delegated wallet is refreshed by re-dealing it: user and server deal their user-pair shares on a
fresh degree-1 polynomial with the same constant term (the key), so all three Shamir shares change,
and the delegate's new share, a new pair set-up (new Paillier key, proven against the delegate's
registered parameters) and a new wallet API key reach the developer in the same webhook delivery as
a delegation (``wallet.delegation.refreshed``). The old delegate share lies on the old polynomial
and combines with no current share; the old API key and pair share are replaced in the same
transaction (docs/wallets.md "Refresh of a delegated wallet").

A three-request ceremony between the user's SDK and the server (:mod:`actionmfa.wallet.reshare`):
open (gate, the server deals its share), deal (the user deals its share; the delegate's sub-share
arrives sealed to the developer's RSA key), confirm (the user proved it holds its new share; the
server switches to its new share and a new Paillier key in the same transaction). Only after that
transaction commits is the delegation announced to the environment's webhook
(:mod:`actionmfa.services.wallets.delivery`).
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import WalletRow
from actionmfa.domain.tokens import Proof
from actionmfa.domain.wallets import CeremonyKind, PendingAction, Stage
from actionmfa.errors import (
    CeremonyInvalidError,
    DelegatedAccessDisabledError,
    InvalidRequestError,
    WalletLockedError,
    WalletProofInvalidError,
    WalletReshareConflictError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.delivery import DelegationWebhook
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import point_to_hex
from actionmfa.wallet.keyproofs import PreparedPaillier
from actionmfa.wallet.zk.ring import RingParams

__all__ = ["DELEGATE_API_KEY_PURPOSE", "ReshareService", "delegate_ring", "server_shamir_share"]

DELEGATE_API_KEY_PURPOSE = "waas-delegate-api-key"
_ENVELOPE_FIELDS = {"alg", "iv", "ct", "tag", "ek"}


def server_shamir_share(x1: int) -> int:
    """The server's Shamir share (index 2) behind its stored user-pair additive share."""
    return rs.shamir_from_additive(rs.SERVER_INDEX, x1, rs.USER_PAIR)


def delegate_ring(uow: WalletUnit, environment_id: str) -> RingParams:
    """The delegate's registered ring-Pedersen parameters (their Πprm was checked when registered)."""
    raw = uow.wallets.delegate_ring(environment_id)
    if raw is None:
        raise DelegatedAccessDisabledError("The delegate's ring-Pedersen parameters are not registered")
    return RingParams.from_json(json.loads(raw))


def _pair_paillier(data: dict[str, Any]) -> PreparedPaillier:
    return PreparedPaillier.from_json(data["pairPrepared"])


class ReshareService:
    def __init__(
        self,
        db: Transactions[WalletUnit],
        keyring: Keyring,
        clock: Clock,
        gate: Gate,
        vault: WalletVault,
        keys: PaillierKeys,
        webhook: DelegationWebhook,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.gate = gate
        self.vault = vault
        self.keys = keys
        self.webhook = webhook

    # -- requests ----------------------------------------------------------------------------------
    @staticmethod
    def target(old: str, new: str, *, delegate: bool, revoke: bool) -> rs.ThresholdScheme:
        """The transitions supported: delegate (2-of-2 → 2-of-3), revoke (2-of-3 → 2-of-2), and the
        refresh of a delegated wallet (2-of-3 → 2-of-3, neither flag)."""
        try:
            old_s, new_s = rs.ThresholdScheme(old), rs.ThresholdScheme(new)
        except ValueError:
            raise InvalidRequestError("Unsupported threshold signature scheme",
                                      field="newThresholdSignatureScheme") from None
        two, three = rs.ThresholdScheme.TWO_OF_TWO, rs.ThresholdScheme.TWO_OF_THREE
        if delegate and not revoke and (old_s, new_s) == (two, three):
            return three
        if revoke and not delegate and (old_s, new_s) == (three, two):
            return two
        if not revoke and not delegate and (old_s, new_s) == (three, three):
            return three
        raise InvalidRequestError("Supported: TWO_OF_TWO → TWO_OF_THREE with delegateToProjectEnvironment, "
                                  "TWO_OF_THREE → TWO_OF_TWO with revokeDelegation, or TWO_OF_THREE → "
                                  "TWO_OF_THREE (refresh of a delegated wallet)", field="newThresholdSignatureScheme")

    def open(self, ctx: AuthContext, wallet_id: str, *, old: str, new: str, delegate: bool, revoke: bool,
             proof: Proof) -> dict[str, Any]:
        """``POST /waas/{walletId}/reshare`` (gate ``wallet.waas.reshare`` — ``wallet.waas.refresh``
        for the refresh of a delegated wallet — before any share is read): the server deals x1."""
        scheme = self.target(old, new, delegate=delegate, revoke=revoke)
        refresh = old == new
        action = MFAAction.WALLET_WAAS_REFRESH if refresh else MFAAction.WALLET_WAAS_RESHARE
        settings = ctx.environment.settings.security.delegatedAccess
        if scheme is rs.ThresholdScheme.TWO_OF_THREE:
            with self.db.read() as uow:
                has_secret = uow.wallets.delegation_secret(ctx.environment.id) is not None
                has_ring = uow.wallets.delegate_ring(ctx.environment.id) is not None
            if not (settings.enabled and settings.webhookUrl and settings.publicKeyPem and has_secret):
                raise DelegatedAccessDisabledError()
            if not has_ring:  # the pair set-up is proven against them (issue 9.3)
                raise DelegatedAccessDisabledError(
                    "Register the delegate's ring-Pedersen parameters first (POST …/waas/delegatedAccess/ringPedersen)")
        prepared = self.keys.take()
        # The pair {server, delegate} signs under a Paillier key of its own (never the user pair's).
        pair = self.keys.take() if scheme is rs.ThresholdScheme.TWO_OF_THREE else None
        ceremony_id = str(uuid.uuid4())
        now = self.clock.now()
        try:
            with denials_recorded(self.db), self.db.write() as uow:
                wallet = self.vault.wallet(uow, ctx, wallet_id)
                if wallet.threshold_scheme != old:
                    raise WalletReshareConflictError(f"The wallet is {wallet.threshold_scheme}, not {old}")
                if wallet.locked_at is not None and scheme is rs.ThresholdScheme.TWO_OF_THREE:
                    raise WalletLockedError()  # no new share holder for a key under suspicion
                if refresh and wallet.pending_action == PendingAction.REVOKE_DELEGATION.value:
                    # The operator revoked the delegate (e.g. a leaked developer key): re-dealing would
                    # hand it a fresh share. Complete the revocation instead.
                    raise WalletReshareConflictError("Delegation revocation pending; complete it first")
                decision = self.gate.enforce(uow, ctx, action, proof)
                share = self.vault.open_share(wallet)
                sid = rs.reshare_session_id(wallet.id, ceremony_id, wallet.key_version, scheme)
                offer, state = rs.server_reshare_begin(sid, share, scheme, prepared)
                extra: dict[str, Any] = {"keyVersion": wallet.key_version, "refresh": refresh}
                if pair is not None:
                    extra |= {"pairPrepared": pair.to_json()}
                expires = self.vault.open_ceremony(
                    uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                    session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.RESHARE,
                    state={**extra, **state.to_json()}, now=now,
                )
                opened = AuditEvent.WALLET_REFRESH_OPENED if refresh else AuditEvent.WALLET_RESHARE_OPENED
                audit.record(uow, ctx, opened, now=now, action=action.value, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, scheme=scheme.value, via=decision.via.value)
        except BaseException:
            self.keys.put(prepared)
            if pair is not None:
                self.keys.put(pair)
            raise
        out: dict[str, Any] = {"ceremonyId": ceremony_id, "walletId": wallet.id, "keyVersion": wallet.key_version,
                               "expiresAt": expires.isoformat(), "message": offer.to_json()}
        if scheme is rs.ThresholdScheme.TWO_OF_THREE:
            out["delegatePublicKeyPem"] = settings.publicKeyPem
        return out

    def _round(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, ceremony_id: str, stage: Stage,
               now: datetime) -> tuple[WalletRow, dict[str, Any], rs.ServerReshareState]:
        wallet = self.vault.wallet(uow, ctx, wallet_id, for_update=True)
        row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.RESHARE, stage, now)
        data = self.vault.open_state(row)
        if row.wallet_id != wallet.id or data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet changed since this reshare was opened")
        return wallet, data, rs.ServerReshareState.from_json(data)

    def deal(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """``…/reshare/{ceremonyId}``: check the user's dealing, compute x1′ and ckey′ under the new key."""
        dealing = rs.ReshareDealing.from_json(message)
        sealed_user = dealing.sealed_delegate_share
        if sealed_user is not None and (set(sealed_user) != _ENVELOPE_FIELDS
                                        or sealed_user["alg"] != dg.ENVELOPE_ALG):
            raise WalletProofInvalidError("sealedDelegateShare is not a delegation envelope")
        with self.db.read() as uow:  # an unknown ceremony is refused before the costly Πprm check
            self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.RESHARE, Stage.OPENED, self.clock.now())
        self.keys.check_ring(dealing.ring)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, data, state = self._round(uow, ctx, wallet_id, ceremony_id, Stage.OPENED, now)
            opening, state = rs.server_reshare_open(self.vault.open_share(wallet), state, dealing)
            data["userSealed"] = dealing.sealed_delegate_share
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.REPLIED, now, state={**data, **state.to_json()})
        return {"ceremonyId": ceremony_id, "message": opening.to_json()}

    def confirm(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """``…/reshare/{ceremonyId}/confirm``: switch shares, scheme and Paillier key; then deliver the
        delegation (after commit)."""
        confirm = rs.ReshareConfirm.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, data, state = self._round(uow, ctx, wallet_id, ceremony_id, Stage.REPLIED, now)
            if state.scheme is rs.ThresholdScheme.TWO_OF_THREE:
                # The operator's off switch as it is now (flipped while the ceremony was open: no new
                # share for the delegate); a revocation ends open reshares itself (WalletAdmin).
                current = uow.environments.get(ctx.environment.id)
                if current is None or not current.settings.security.delegatedAccess.enabled:
                    raise DelegatedAccessDisabledError()
            new_share = rs.server_reshare_confirm(self.vault.open_share(wallet), state, confirm)
            self.vault.finish(uow, ceremony_id, Stage.REPLIED, now)
            version = wallet.key_version + 1
            delegate_public = delegate_blob = api_hash = None
            pair: tuple[rs.PairSetup, str] | None = None
            if state.scheme is rs.ThresholdScheme.TWO_OF_THREE:
                assert state.user_commitments is not None  # noqa: S101 - set by the deal round
                delegate_public = point_to_hex(rs.public_share_of(rs.DELEGATE_INDEX,
                                                                  [state.commitments, state.user_commitments]))
                setup, pair_share = rs.server_pair_share(
                    server_shamir_share(new_share.x1), new_share.public_key, rs.DELEGATE_PAIR, _pair_paillier(data),
                    delegate_ring(uow, ctx.environment.id), rs.pair_session_id(wallet.id, ceremony_id, version))
                if pair_share.paillier.n == new_share.paillier.n:
                    raise WalletProofInvalidError("The delegate pair needs a Paillier key of its own")
                api_key = "dak_" + secrets.token_urlsafe(32)
                api_hash = self.keyring.keyed_hash(api_key, purpose=DELEGATE_API_KEY_PURPOSE)
                delegate_blob = self.vault.seal_pair_share(wallet.id, pair_share)
                pair = (setup, api_key)
            uow.wallets.reshare(wallet.id, server_share=self.vault.seal_share(wallet.id, new_share),
                                key_version=version, scheme=state.scheme.value, delegate_public_share=delegate_public,
                                delegate_share=delegate_blob, delegate_api_key_hash=api_hash, now=now,
                                key_ceremony_id=ceremony_id)
            refresh = bool(data.get("refresh"))
            action = MFAAction.WALLET_WAAS_REFRESH if refresh else MFAAction.WALLET_WAAS_RESHARE
            audit.record(uow, ctx, AuditEvent.WALLET_REFRESHED if refresh else AuditEvent.WALLET_RESHARED, now=now,
                         action=action.value, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         scheme=state.scheme.value, shareVersion=version)
            delivery = self.webhook.build(uow, ctx, wallet, state, data, version, pair, now, ceremony_id=ceremony_id,
                                          refreshed=refresh)
            updated = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        result: dict[str, Any] = {"wallet": WalletView.of(updated).to_json()}
        if delivery is not None:
            result["delegation"] = {"event": delivery.event_name, "delivered": self.webhook.deliver(delivery)}
        return result
