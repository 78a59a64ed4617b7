"""WaaS reshare (DESIGN §7): 2-of-2 ↔ 2-of-3 for delegated access, gated by ``wallet.waas.reshare``.

A three-request ceremony between the user's SDK and the server (:mod:`actionmfa.wallet.reshare`):
open (gate, the server deals its share), deal (the user deals its share; the delegate's sub-share
arrives sealed to the developer's RSA key), confirm (the user proved it holds its new share; the
server switches to its new share and a new Paillier key in the same transaction). Only after that
transaction commits is the delegation delivered to the environment's webhook
(``wallet.delegation.created``: the server's sub-share and the user's, each in an RSA-OAEP +
AES-256-GCM envelope, plus the Feldman commitments; body signed with HMAC-SHA256), or the revocation
announced (``wallet.delegation.revoked``). The delivery outcome is audited; a failed delivery does not
undo the reshare (the developer can revoke and delegate again).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.errors import (
    CeremonyInvalidError,
    DelegatedAccessDisabledError,
    InvalidRequestError,
    WalletLockedError,
    WalletProofInvalidError,
    WalletReshareConflictError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditIds
from actionmfa.services.core.gate import denials_recorded
from actionmfa.services.wallets.service import (
    _DONE,
    CEREMONY_TTL_SECONDS,
    CHAIN_EVM,
    CeremonyKind,
    WalletAuditEvent,
    WalletService,
    WalletView,
    wallet_service_for,
)
from actionmfa.store.repos.wallets import WalletRepo, WalletRow
from actionmfa.store.uow import UnitOfWork
from actionmfa.wallet import delegation as dg
from actionmfa.wallet import reshare as rs
from actionmfa.wallet.curve import point_to_hex
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from actionmfa.wallet.paillier import PaillierSecretKey
from actionmfa.wallet.proofs import ModProof

__all__ = ["DELIVERY_TIMEOUT_SECONDS", "ReshareService", "create_delegation_secret", "reshare_service_for"]

log = logging.getLogger("actionmfa.wallets")

DELIVERY_TIMEOUT_SECONDS = 10.0
RESHARE_SERVICE_KEY = "wallet_reshare"
DELEGATION_CLIENT_KEY = "wallet_delegation_http"  # tests may inject an httpx.Client
_ENVELOPE_FIELDS = {"alg", "iv", "ct", "tag", "ek"}


DELEGATE_API_KEY_PURPOSE = "waas-delegate-api-key"


def delegate_share_aad(wallet_id: str) -> str:
    return f"waas-delegate:{wallet_id}"


def _pair_paillier(data: dict[str, Any]) -> PreparedPaillier:
    return PreparedPaillier(PaillierSecretKey.from_json(data["pairPaillier"]), ModProof.from_json(data["pairModProof"]))


def _secret_aad(environment_id: str) -> str:
    return f"waas-delegation-secret:{environment_id}"


def create_delegation_secret(uow: UnitOfWork, keyring: Any, environment_id: str, *, now: datetime) -> str:
    """A new HMAC secret for the environment's delegation webhooks (replaces the old one); the
    caller shows it once. Returned as 64 hex characters; the webhook key is its UTF-8 bytes."""
    secret = secrets.token_hex(32)
    WalletRepo(uow.conn).set_delegation_secret(environment_id, keyring.encrypt(secret.encode(),
                                                                               aad=_secret_aad(environment_id)),
                                               now=now)
    audit.record(uow, AuditIds(environment_id), WalletAuditEvent.DELEGATION_SECRET_CREATED, now=now, outcome="ok")
    return secret


@dataclass(frozen=True)
class _Delivery:
    environment_id: str
    user_id: str
    wallet_id: str
    url: str
    body: bytes
    signature: str
    event_name: str


class ReshareService:
    def __init__(self, wallets: WalletService, http: httpx.Client | None = None) -> None:
        self.w = wallets
        self.http = http

    # -- requests ----------------------------------------------------------------------------------
    @staticmethod
    def target(old: str, new: str, *, delegate: bool, revoke: bool) -> rs.ThresholdScheme:
        """The two transitions supported: delegate (2-of-2 → 2-of-3) and revoke (2-of-3 → 2-of-2)."""
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
        raise InvalidRequestError("Supported: TWO_OF_TWO → TWO_OF_THREE with delegateToProjectEnvironment, "
                                  "or TWO_OF_THREE → TWO_OF_TWO with revokeDelegation",
                                  field="newThresholdSignatureScheme")

    def open(self, ctx: AuthContext, wallet_id: str, *, old: str, new: str, delegate: bool, revoke: bool,
             mfa_token: str | None, elevated_token: str | None) -> dict[str, Any]:
        """Round 1 (gate ``wallet.waas.reshare`` before any share is read): the server deals x1."""
        scheme = self.target(old, new, delegate=delegate, revoke=revoke)
        settings = ctx.environment.settings.security.delegatedAccess
        if scheme is rs.ThresholdScheme.TWO_OF_THREE:
            with self.w.db.read() as uow:
                has_secret = WalletRepo(uow.conn).delegation_secret(ctx.environment.id) is not None
            if not (settings.enabled and settings.webhookUrl and settings.publicKeyPem and has_secret):
                raise DelegatedAccessDisabledError()
        prepared = self.w.pool.take(wait=30.0)
        # The pair {server, delegate} signs under a Paillier key of its own (never the user pair's).
        pair = self.w.pool.take(wait=30.0) if scheme is rs.ThresholdScheme.TWO_OF_THREE else None
        ceremony_id = str(uuid.uuid4())
        now = self.w.clock.now()
        try:
            with denials_recorded(self.w.db), self.w.db.write() as uow:
                wallet = self.w._wallet(uow, ctx, wallet_id)
                if wallet.threshold_scheme != old:
                    raise WalletReshareConflictError(f"The wallet is {wallet.threshold_scheme}, not {old}")
                if wallet.locked_at is not None and scheme is rs.ThresholdScheme.TWO_OF_THREE:
                    raise WalletLockedError()  # no new share holder for a key under suspicion
                decision = self.w.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_RESHARE, mfa_token=mfa_token,
                                               elevated_token=elevated_token)
                share = self.w._open_share(wallet)
                sid = rs.reshare_session_id(wallet.id, ceremony_id, wallet.key_version, scheme)
                offer, state = rs.server_reshare_begin(sid, share, scheme, prepared)
                expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
                extra: dict[str, Any] = {"keyVersion": wallet.key_version}
                if pair is not None:
                    extra |= {"pairPaillier": pair.key.to_json(), "pairModProof": pair.mod_proof.to_json()}
                sealed = self.w._seal_state(ceremony_id, {**extra, **state.to_json()})
                WalletRepo(uow.conn).add_ceremony(
                    id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                    session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.RESHARE.value,
                    payload_kind=None, digest=None, stage=1, state=sealed, outcome=None,
                    created_at=now, expires_at=expires, completed_at=None,
                )
                audit.record(uow, ctx, WalletAuditEvent.RESHARE_OPENED, now=now,
                             action=MFAAction.WALLET_WAAS_RESHARE.value, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, scheme=scheme.value, via=decision.via)
        except BaseException:
            self.w.pool.put(prepared)
            if pair is not None:
                self.w.pool.put(pair)
            raise
        out: dict[str, Any] = {"ceremonyId": ceremony_id, "walletId": wallet.id, "keyVersion": wallet.key_version,
                               "expiresAt": expires.isoformat(), "message": offer.to_json()}
        if scheme is rs.ThresholdScheme.TWO_OF_THREE:
            out["delegatePublicKeyPem"] = settings.publicKeyPem
        return out

    def _round(self, uow: UnitOfWork, ctx: AuthContext, wallet_id: str, ceremony_id: str, stage: int,
               now: datetime) -> tuple[WalletRow, dict[str, Any], rs.ServerReshareState]:
        wallet = self.w._wallet(uow, ctx, wallet_id, for_update=True)
        row = self.w._live_ceremony(uow, ctx, ceremony_id, CeremonyKind.RESHARE, stage, now)
        data = self.w._open_state(row)
        if row.wallet_id != wallet.id or data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet changed since this reshare was opened")
        return wallet, data, rs.ServerReshareState.from_json(data)

    def deal(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Round 2: check the user's dealing, compute x1' and ckey' under the new Paillier key."""
        dealing = rs.ReshareDealing.from_json(message)
        sealed_user = dealing.sealed_delegate_share
        if sealed_user is not None and (set(sealed_user) != _ENVELOPE_FIELDS
                                        or sealed_user["alg"] != dg.ENVELOPE_ALG):
            raise WalletProofInvalidError("sealedDelegateShare is not a delegation envelope")
        now = self.w.clock.now()
        with self.w.db.write() as uow:
            wallet, data, state = self._round(uow, ctx, wallet_id, ceremony_id, 1, now)
            opening, state = rs.server_reshare_open(self.w._open_share(wallet), state, dealing)
            data["userSealed"] = dealing.sealed_delegate_share
            sealed = self.w._seal_state(ceremony_id, {**data, **state.to_json()})
            if not WalletRepo(uow.conn).advance(ceremony_id, from_stage=1, to_stage=2, now=now, state=sealed):
                raise CeremonyInvalidError()
        return {"ceremonyId": ceremony_id, "message": opening.to_json()}

    def confirm(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Round 3: switch shares, scheme and Paillier key; then deliver the delegation (after commit)."""
        confirm = rs.ReshareConfirm.from_json(message)
        now = self.w.clock.now()
        with self.w.db.write() as uow:
            repo = WalletRepo(uow.conn)
            wallet, data, state = self._round(uow, ctx, wallet_id, ceremony_id, 2, now)
            new_share = rs.server_reshare_confirm(self.w._open_share(wallet), state, confirm)
            if not repo.advance(ceremony_id, from_stage=2, to_stage=_DONE, now=now, state="", outcome="ok"):
                raise CeremonyInvalidError()
            version = wallet.key_version + 1
            delegate_public = delegate_blob = api_hash = None
            pair: tuple[rs.PairSetup, str] | None = None
            if state.scheme is rs.ThresholdScheme.TWO_OF_THREE:
                assert state.user_commitments is not None  # noqa: S101 - set by the deal round
                delegate_public = point_to_hex(rs.public_share_of(rs.DELEGATE_INDEX,
                                                                  [state.commitments, state.user_commitments]))
                setup, pair_share = rs.server_pair_share(server_shamir_share(new_share.x1), new_share.public_key,
                                                         rs.DELEGATE_PAIR, _pair_paillier(data))
                if pair_share.paillier.n == new_share.paillier.n:
                    raise WalletProofInvalidError("The delegate pair needs a Paillier key of its own")
                api_key = "dak_" + secrets.token_urlsafe(32)
                api_hash = self.w.keyring.keyed_hash(api_key, purpose=DELEGATE_API_KEY_PURPOSE)
                delegate_blob = self.w.keyring.encrypt(json.dumps(pair_share.to_json()).encode(),
                                                       aad=delegate_share_aad(wallet.id))
                pair = (setup, api_key)
            repo.reshare(wallet.id, server_share=self.w._seal_share(wallet.id, new_share), key_version=version,
                         scheme=state.scheme.value, delegate_public_share=delegate_public,
                         delegate_share=delegate_blob, delegate_api_key_hash=api_hash, now=now)
            audit.record(uow, ctx, WalletAuditEvent.RESHARED, now=now, action=MFAAction.WALLET_WAAS_RESHARE.value,
                         outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id, scheme=state.scheme.value,
                         shareVersion=version)
            delivery = self._delivery(uow, ctx, wallet, state, data, version, pair, now)
            updated = repo.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        result: dict[str, Any] = {"wallet": WalletView.of(updated).to_json()}
        if delivery is not None:
            result["delegation"] = {"event": delivery.event_name, "delivered": self._deliver(delivery)}
        return result

    # -- delivery -------------------------------------------------------------------------------------
    def _delivery(self, uow: UnitOfWork, ctx: AuthContext, wallet: WalletRow, state: rs.ServerReshareState,
                  data: dict[str, Any], version: int, pair: tuple[rs.PairSetup, str] | None,
                  now: datetime) -> _Delivery | None:
        settings = ctx.environment.settings.security.delegatedAccess
        blob = WalletRepo(uow.conn).delegation_secret(ctx.environment.id)
        if not settings.webhookUrl or blob is None:
            return None  # revoking where delegation was switched off since: nobody to tell
        secret = self.w.keyring.decrypt(blob, aad=_secret_aad(ctx.environment.id))
        event: dict[str, Any] = {"walletId": wallet.id, "chain": CHAIN_EVM, "address": wallet.address,
                                 "publicKey": wallet.public_key, "shareVersion": version,
                                 "thresholdSignatureScheme": state.scheme.value}
        if state.scheme is rs.ThresholdScheme.TWO_OF_THREE:
            if not settings.publicKeyPem or not isinstance(data.get("userSealed"), dict):
                raise DelegatedAccessDisabledError()
            assert state.user_commitments is not None  # noqa: S101
            server_sub = state.sub_shares[rs.DELEGATE_INDEX]
            event |= {
                "shareIndex": rs.DELEGATE_INDEX, "serverShareIndex": rs.SERVER_INDEX,
                "userShareIndex": rs.USER_INDEX,
                "commitments": {"server": [point_to_hex(p) for p in state.commitments],
                                "user": [point_to_hex(p) for p in state.user_commitments]},
                "encryptedDelegatedShare": dg.seal_envelope(
                    settings.publicKeyPem, dg.sub_share_plaintext(wallet.id, version, "server", server_sub)),
                "encryptedUserSubShare": data["userSealed"],
            }
            if pair is not None:
                event |= {
                    "delegatedPairSetup": pair[0].to_json(),
                    "encryptedWalletApiKey": dg.seal_envelope(
                        settings.publicKeyPem, dg.api_key_plaintext(wallet.id, version, pair[1])),
                }
            name = "wallet.delegation.created"
        else:
            name = "wallet.delegation.revoked"
        body = json.dumps({"eventId": str(uuid.uuid4()), "eventName": name, "environmentId": ctx.environment.id,
                           "timestamp": now.isoformat(), "data": event}, separators=(",", ":")).encode()
        return _Delivery(ctx.environment.id, ctx.user.id, wallet.id, settings.webhookUrl, body,
                         dg.sign_body(secret, body), name)

    def _deliver(self, d: _Delivery) -> bool:
        """POST the event (outside any transaction) and audit the outcome."""
        status: int | None = None
        try:
            client = self.http or httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS)
            try:
                response = client.post(d.url, content=d.body, headers={
                    "content-type": "application/json", dg.SIGNATURE_HEADER: d.signature})
                status = response.status_code
            finally:
                if client is not self.http:
                    client.close()
        except httpx.HTTPError as exc:
            log.warning("delegation webhook for wallet %s failed: %s", d.wallet_id, type(exc).__name__)
        ok = status is not None and 200 <= status < 300
        with self.w.db.write() as uow:
            audit.record(uow, AuditIds(d.environment_id, d.user_id),
                         WalletAuditEvent.DELEGATION_DELIVERED if ok else WalletAuditEvent.DELEGATION_DELIVERY_FAILED,
                         now=self.w.clock.now(), action=MFAAction.WALLET_WAAS_RESHARE.value,
                         outcome="ok" if ok else "failed", walletId=d.wallet_id, eventName=d.event_name,
                         httpStatus=status)
        return ok


def server_shamir_share(x1: int) -> int:
    """The server's Shamir share (index 2) behind its stored user-pair additive share."""
    return rs.shamir_from_additive(rs.SERVER_INDEX, x1, rs.USER_PAIR)


def reshare_service_for(runtime: Any) -> ReshareService:
    service = runtime.extras.get(RESHARE_SERVICE_KEY)
    if service is None:
        service = ReshareService(wallet_service_for(runtime), runtime.extras.get(DELEGATION_CLIENT_KEY))
        runtime.extras[RESHARE_SERVICE_KEY] = service
    return service  # type: ignore[no-any-return]
