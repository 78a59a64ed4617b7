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
import uuid
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.records import CeremonyRow, WalletRow
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, PendingAction, Stage
from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    DelegatedAccessDisabledError,
    NotFoundError,
    UnauthorizedError,
    WalletLockedError,
    WalletProofInvalidError,
    WalletSignatureInvalidError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.reshare import DELEGATE_API_KEY_PURPOSE
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import signature_result
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.payloads import SignRequest, check_policy

__all__ = ["DelegatedSigningService"]


class DelegatedSigningService:
    def __init__(self, db: Transactions[WalletUnit], keyring: Keyring, clock: Clock, vault: WalletVault) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.vault = vault

    def _wallet(self, uow: WalletUnit, environment_id: str, wallet_id: str, api_key: str) -> WalletRow:
        wallet = uow.wallets.wallet_by_id(environment_id, wallet_id)
        if wallet is None:
            raise NotFoundError("Wallet not found")
        presented = self.keyring.keyed_hash(api_key, purpose=DELEGATE_API_KEY_PURPOSE)
        if wallet.delegate_api_key_hash is None or not hmac.compare_digest(presented, wallet.delegate_api_key_hash):
            raise UnauthorizedError("Invalid wallet API key")
        if wallet.delegate_share is None:
            raise UnauthorizedError("The wallet is not delegated")
        if wallet.pending_action == PendingAction.REVOKE_DELEGATION.value:
            # The operator revoked (e.g. a leaked developer key): the delegate stops at once, before
            # the user's next sign-in reshares its share away.
            raise UnauthorizedError("Delegated access to this wallet was revoked")
        # The operator's off switch holds for every round, also of ceremonies opened before it was
        # flipped; told only to holders of a valid key (checked above). Switching back on resumes.
        environment = uow.environments.get(environment_id)
        if environment is None or not environment.settings.security.delegatedAccess.enabled:
            raise DelegatedAccessDisabledError("Delegated access is disabled for this environment")
        return wallet

    def open(self, environment_id: str, wallet_id: str, api_key: str, request: SignRequest) -> dict[str, Any]:
        digest = request.digest()
        now = self.clock.now()
        ceremony_id = str(uuid.uuid4())
        with self.db.write() as uow:
            wallet = self._wallet(uow, environment_id, wallet_id, api_key)
            if wallet.locked_at is not None:
                raise WalletLockedError()
            environment = uow.environments.get(environment_id)
            check_policy(request, allow_chain_id_zero_authorizations=environment is not None and (
                environment.settings.security.embeddedWallets.allowChainIdZeroAuthorizations))
            sid = p2.sign_session_id(wallet.id, ceremony_id, digest, key_version=wallet.key_version)
            message, state = p2.server_sign_begin(sid, digest)
            expires = self.vault.open_ceremony(
                uow, ceremony_id=ceremony_id, environment_id=environment_id, user_id=wallet.user_id,
                session_id=None, wallet_id=wallet.id, kind=CeremonyKind.DELEGATED_SIGN,
                state={"keyVersion": wallet.key_version, **state.to_json()}, now=now,
                payload_kind=request.kind.value, digest=digest.hex(),
            )
            audit.record(uow, AuditIds(environment_id, wallet.user_id), AuditEvent.WALLET_DELEGATED_SIGN_OPENED,
                         now=now, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         payloadKind=request.kind.value, digest=digest.hex())
        return {"ceremonyId": ceremony_id, "walletId": wallet.id, "digest": "0x" + digest.hex(),
                "keyVersion": wallet.key_version, "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _round(self, uow: WalletUnit, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str,
               request: SignRequest, stage: Stage, now: datetime) -> tuple[WalletRow, CeremonyRow, dict[str, Any]]:
        wallet = self._wallet(uow, environment_id, wallet_id, api_key)
        if stage is Stage.REPLIED:  # serialise completions on the row lock and see a lock set by any of them
            locked_row = uow.wallets.wallet(environment_id, wallet.user_id, wallet.id, for_update=True)
            if locked_row is None:
                raise NotFoundError("Wallet not found")
            wallet = locked_row
        row = uow.wallets.delegated_ceremony(ceremony_id, wallet_id=wallet.id, kind=CeremonyKind.DELEGATED_SIGN)
        if row is None:
            raise CeremonyInvalidError()
        if row.outcome is not None or row.stage != stage:
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        if row.expires_at <= now:
            raise CeremonyInvalidError("Ceremony expired")
        if wallet.locked_at is not None:
            raise WalletLockedError()
        data = self.vault.open_state(row)
        if data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet was reshared since this ceremony opened")
        if row.digest is None or not hmac.compare_digest(request.digest().hex(), row.digest):
            raise CeremonyInvalidError("Payload changed during the ceremony")
        return wallet, row, data

    def nonce(self, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str, request: SignRequest,
              message: dict[str, Any]) -> dict[str, Any]:
        client_msg = p2.SignNonce.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, _, data = self._round(uow, environment_id, wallet_id, api_key, ceremony_id, request,
                                          Stage.OPENED, now)
            reveal, state = p2.server_sign_reveal(p2.ServerSignState.from_json(data), client_msg)
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.REPLIED, now,
                               state={"keyVersion": wallet.key_version, **state.to_json()})
        return {"ceremonyId": ceremony_id, "message": reveal.to_json()}

    def complete(self, environment_id: str, wallet_id: str, api_key: str, ceremony_id: str, request: SignRequest,
                 message: dict[str, Any]) -> dict[str, Any]:
        client_msg = p2.SignPartial.from_json(message)
        now = self.clock.now()
        failure: ActionMFAError | None = None
        result: dict[str, Any] = {}
        with self.db.write() as uow:
            wallet, row, data = self._round(uow, environment_id, wallet_id, api_key, ceremony_id, request,
                                            Stage.REPLIED, now)
            self.vault.advance(uow, ceremony_id, Stage.REPLIED, Stage.CLAIMED, now)
            who = AuditIds(environment_id, wallet.user_id)
            try:
                sig = p2.server_sign_complete(self.vault.open_pair_share(wallet), p2.ServerSignState.from_json(data),
                                              client_msg)
            except WalletProofInvalidError as exc:  # never decrypted: no lock, the ceremony ends
                uow.wallets.advance(ceremony_id, from_stage=Stage.CLAIMED, to_stage=Stage.DONE, now=now, state="",
                                    outcome=CeremonyOutcome.INVALID_PROOF)
                audit.record(uow, who, AuditEvent.WALLET_SIGN_PROOF_INVALID, now=now, outcome="refused",
                             walletId=wallet.id, ceremonyId=ceremony_id, digest=row.digest, delegated=True)
                failure = exc
            except WalletSignatureInvalidError:
                self.vault.lock_after_invalid_signature(uow, wallet.id, ceremony_id, now)
                audit.record(uow, who, AuditEvent.WALLET_SIGNATURE_INVALID, now=now, outcome="locked",
                             walletId=wallet.id, ceremonyId=ceremony_id, digest=row.digest, delegated=True)
                failure = WalletSignatureInvalidError("Signature verification failed; the wallet is locked for signing")
            else:
                uow.wallets.advance(ceremony_id, from_stage=Stage.CLAIMED, to_stage=Stage.DONE, now=now, state="",
                                    outcome=CeremonyOutcome.OK)
                uow.wallets.record_signature(wallet.id, now=now)
                audit.record(uow, who, AuditEvent.WALLET_DELEGATED_SIGNED, now=now, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, payloadKind=request.kind.value, digest=row.digest)
                result = signature_result(ceremony_id, request, sig)
        if failure is not None:
            raise failure
        return result
