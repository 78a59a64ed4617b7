"""Delegated signing: the developer's server (delegate, share index 3) signs with the server (index 2).

Authentication is the per-wallet API key delivered, RSA-sealed, with ``wallet.delegation.created``
(stored here as a keyed hash only). There is no MFA gate: the user approved the delegation itself,
under ``wallet.waas.reshare``; revoking it (a reshare back to 2-of-2) deletes the pair share and the
key. The rounds are the same two-party ECDSA as the user's (:mod:`actionmfa.wallet.ecdsa2p`), over
the pair's additive shares ``λ_2·s_2`` / ``λ_3·s_3`` and the pair's own Paillier key. An invalid
signature locks the whole wallet (the pair share is a multiple of the user pair's, so the
CVE-2023-33242 probe budget is shared).
"""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    DelegatedAccessDisabledError,
    NotFoundError,
    UnauthorizedError,
    WalletLockedError,
    WalletSignatureInvalidError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditIds
from actionmfa.services.wallets.reshare import DELEGATE_API_KEY_PURPOSE, delegate_share_aad
from actionmfa.services.wallets.service import (
    _DONE,
    CEREMONY_TTL_SECONDS,
    WalletAuditEvent,
    WalletService,
    wallet_service_for,
)
from actionmfa.store.repos.wallets import CeremonyRow, WalletRepo, WalletRow
from actionmfa.store.uow import UnitOfWork
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.payloads import PayloadKind, SignRequest, signed_raw_transaction

__all__ = ["DELEGATED_SIGN_KIND", "DelegatedSigningService", "delegated_service_for"]

DELEGATED_SIGN_KIND = "delegated_sign"
_SERVICE_KEY = "wallet_delegated"


class DelegatedSigningService:
    def __init__(self, wallets: WalletService) -> None:
        self.w = wallets

    def _wallet(self, uow: UnitOfWork, environment_id: str, wallet_id: str, api_key: str) -> WalletRow:
        wallet = WalletRepo(uow.conn).wallet_by_id(environment_id, wallet_id)
        if wallet is None:
            raise NotFoundError("Wallet not found")
        presented = self.w.keyring.keyed_hash(api_key, purpose=DELEGATE_API_KEY_PURPOSE)
        if wallet.delegate_api_key_hash is None or not hmac.compare_digest(presented, wallet.delegate_api_key_hash):
            raise UnauthorizedError("Invalid wallet API key")
        if wallet.delegate_share is None:
            raise UnauthorizedError("The wallet is not delegated")
        # The operator's off switch holds for every round, also of ceremonies opened before it was
        # flipped; told only to holders of a valid key (checked above). Switching back on resumes.
        environment = uow.environments.get(environment_id)
        if environment is None or not environment.settings.security.delegatedAccess.enabled:
            raise DelegatedAccessDisabledError("Delegated access is disabled for this environment")
        return wallet

    def _pair_share(self, wallet: WalletRow) -> p2.ServerKeyShare:
        assert wallet.delegate_share is not None  # noqa: S101 - checked by _wallet
        data = json.loads(self.w.keyring.decrypt(wallet.delegate_share, aad=delegate_share_aad(wallet.id)))
        return p2.ServerKeyShare.from_json(data)

    def open(self, environment_id: str, wallet_id: str, api_key: str, request: SignRequest) -> dict[str, Any]:
        digest = request.digest()
        now = self.w.clock.now()
        ceremony_id = str(uuid.uuid4())
        with self.w.db.write() as uow:
            wallet = self._wallet(uow, environment_id, wallet_id, api_key)
            if wallet.locked_at is not None:
                raise WalletLockedError()
            message, state = p2.server_sign_begin(p2.sign_session_id(wallet.id, ceremony_id, digest), digest)
            expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
            WalletRepo(uow.conn).add_ceremony(
                id=ceremony_id, environment_id=environment_id, user_id=wallet.user_id, session_id=None,
                wallet_id=wallet.id, kind=DELEGATED_SIGN_KIND, payload_kind=request.kind.value, digest=digest.hex(),
                stage=1, state=self.w._seal_state(ceremony_id, {"keyVersion": wallet.key_version, **state.to_json()}),
                outcome=None, created_at=now, expires_at=expires, completed_at=None,
            )
            audit.record(uow, AuditIds(environment_id, wallet.user_id), WalletAuditEvent.DELEGATED_SIGN_OPENED,
                         now=now, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         payloadKind=request.kind.value, digest=digest.hex())
        return {"ceremonyId": ceremony_id, "walletId": wallet.id, "digest": "0x" + digest.hex(),
                "keyVersion": wallet.key_version, "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _round(self, uow: UnitOfWork, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str,
               request: SignRequest, stage: int, now: datetime) -> tuple[WalletRow, CeremonyRow, dict[str, Any]]:
        wallet = self._wallet(uow, environment_id, wallet_id, api_key)
        if stage == 2:  # serialise completions on the row lock and see a lock set by any of them
            locked_row = WalletRepo(uow.conn).wallet(environment_id, wallet.user_id, wallet.id, for_update=True)
            if locked_row is None:
                raise NotFoundError("Wallet not found")
            wallet = locked_row
        row = WalletRepo(uow.conn).delegated_ceremony(ceremony_id, wallet_id=wallet.id, kind=DELEGATED_SIGN_KIND)
        if row is None:
            raise CeremonyInvalidError()
        if row.outcome is not None or row.stage != stage:
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        if row.expires_at <= now:
            raise CeremonyInvalidError("Ceremony expired")
        if wallet.locked_at is not None:
            raise WalletLockedError()
        data = self.w._open_state(row)
        if data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet was reshared since this ceremony opened")
        if row.digest is None or not hmac.compare_digest(request.digest().hex(), row.digest):
            raise CeremonyInvalidError("Payload changed during the ceremony")
        return wallet, row, data

    def nonce(self, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str, request: SignRequest,
              message: dict[str, Any]) -> dict[str, Any]:
        client_msg = p2.SignNonce.from_json(message)
        now = self.w.clock.now()
        with self.w.db.write() as uow:
            wallet, _, data = self._round(uow, environment_id, wallet_id, api_key, ceremony_id, request, 1, now)
            reveal, state = p2.server_sign_reveal(p2.ServerSignState.from_json(data), client_msg)
            sealed = self.w._seal_state(ceremony_id, {"keyVersion": wallet.key_version, **state.to_json()})
            if not WalletRepo(uow.conn).advance(ceremony_id, from_stage=1, to_stage=2, now=now, state=sealed):
                raise CeremonyInvalidError()
        return {"ceremonyId": ceremony_id, "message": reveal.to_json()}

    def complete(self, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str, request: SignRequest,
                 message: dict[str, Any]) -> dict[str, Any]:
        client_msg = p2.SignPartial.from_json(message)
        now = self.w.clock.now()
        failure: ActionMFAError | None = None
        result: dict[str, Any] = {}
        with self.w.db.write() as uow:
            repo = WalletRepo(uow.conn)
            wallet, row, data = self._round(uow, environment_id, wallet_id, api_key, ceremony_id, request, 2, now)
            if not repo.advance(ceremony_id, from_stage=2, to_stage=3, now=now, state=""):
                raise CeremonyInvalidError()
            who = AuditIds(environment_id, wallet.user_id)
            try:
                sig = p2.server_sign_complete(self._pair_share(wallet), p2.ServerSignState.from_json(data), client_msg)
            except WalletSignatureInvalidError:
                repo.lock(wallet.id, reason="invalid_signature", now=now)
                repo.fail(ceremony_id, outcome="invalid_signature", now=now)
                audit.record(uow, who, WalletAuditEvent.SIGNATURE_INVALID, now=now, outcome="locked",
                             walletId=wallet.id, ceremonyId=ceremony_id, digest=row.digest, delegated=True)
                failure = WalletSignatureInvalidError("Signature verification failed; the wallet is locked for signing")
            else:
                repo.advance(ceremony_id, from_stage=3, to_stage=_DONE, now=now, state="", outcome="ok")
                audit.record(uow, who, WalletAuditEvent.DELEGATED_SIGNED, now=now, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, payloadKind=request.kind.value, digest=row.digest)
                result = {"ceremonyId": ceremony_id, "digest": "0x" + request.digest().hex(),
                          "signature": sig.to_json()}
                if request.kind is PayloadKind.TRANSACTION:
                    result["signedTransaction"] = "0x" + signed_raw_transaction(request, sig).hex()
        if failure is not None:
            raise failure
        return result


def delegated_service_for(runtime: Any) -> DelegatedSigningService:
    service = runtime.extras.get(_SERVICE_KEY)
    if service is None:
        service = DelegatedSigningService(wallet_service_for(runtime))
        runtime.extras[_SERVICE_KEY] = service
    return service  # type: ignore[no-any-return]
