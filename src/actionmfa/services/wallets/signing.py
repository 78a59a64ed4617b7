"""MFA-gated signing ceremonies (DESIGN §7): messages, typed data, transactions, authorizations.

The server is party P1 of :mod:`actionmfa.wallet.ecdsa2p`. Because every signature needs its
share, the gate is enforced by cryptography: the server takes part in a signing ceremony only after
:meth:`Gate.enforce` allowed ``wallet.waas.sign`` when it opened. Each round is its own write
transaction; the ceremony is bound to the digest the server computed from the payload (shown again
at every round) and expires 60 s after opening. The last round's c3 is checked against its Πaff-g
proof before it is decrypted; a failed proof ends the ceremony (audited, no lock: nothing was
decrypted). A round whose result is still an invalid signature locks the wallet for signing and is
audited (CVE-2023-33242, defence in depth).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import CeremonyRow, WalletRow
from actionmfa.domain.tokens import Proof
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Stage
from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    WalletLockedError,
    WalletProofInvalidError,
    WalletSignatureInvalidError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.services.wallets.views import signature_result
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.payloads import SignRequest, check_policy

log = logging.getLogger("actionmfa.wallets")


class Signing:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, vault: WalletVault) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.vault = vault

    def open_sign(self, ctx: AuthContext, wallet_id: str, request: SignRequest, proof: Proof) -> dict[str, Any]:
        """``POST /waas/{walletId}/signMessage``: the gate runs first; refused → nothing stored, no
        share touched. A token bound to a payload (``approvalDigest``) opens only this payload."""
        digest = request.digest()
        check_policy(request, allow_chain_id_zero_authorizations=(
            ctx.environment.settings.security.embeddedWallets.allowChainIdZeroAuthorizations))
        now = self.clock.now()
        ceremony_id = str(uuid.uuid4())
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self.vault.wallet(uow, ctx, wallet_id)
            if wallet.locked_at is not None:
                raise WalletLockedError()
            decision = self.gate.enforce(
                uow, ctx, MFAAction.WALLET_WAAS_SIGN, proof.bound_to(request.approval_digest(wallet_id=wallet.id))
            )
            sid = p2.sign_session_id(wallet.id, ceremony_id, digest, key_version=wallet.key_version)
            message, state = p2.server_sign_begin(sid, digest)
            expires = self.vault.open_ceremony(
                uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.SIGN, state=state.to_json(),
                now=now, payload_kind=request.kind.value, digest=digest.hex(), purge=True,
            )
            audit.record(uow, ctx, AuditEvent.WALLET_SIGN_OPENED, action=MFAAction.WALLET_WAAS_SIGN.value,
                         now=now, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         payloadKind=request.kind.value, digest=digest.hex(), via=decision.via.value)
        return {"ceremonyId": ceremony_id, "walletId": wallet_id, "digest": "0x" + digest.hex(),
                "keyVersion": wallet.key_version, "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _round(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, ceremony_id: str, request: SignRequest,
               stage: Stage, now: datetime, key_version: int | None) -> tuple[WalletRow, CeremonyRow]:
        # The last round locks the wallet row: a ceremony that fails and locks the wallet is seen by
        # every completion after it, also under READ COMMITTED on PostgreSQL.
        wallet = self.vault.wallet(uow, ctx, wallet_id, for_update=stage is Stage.REPLIED)
        row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.SIGN, stage, now)
        if row.wallet_id != wallet.id:
            raise CeremonyInvalidError()
        if wallet.locked_at is not None:
            raise WalletLockedError()
        # A client whose share predates a refresh would produce an invalid signature and lock the
        # wallet; it says which share it uses, and a stale one is refused before anything is decrypted.
        if key_version is not None and key_version != wallet.key_version:
            raise CeremonyInvalidError("The wallet was refreshed; reload the share and sign again")
        # The payload is shown again at every round; the server recomputes the digest and refuses a
        # ceremony whose payload changed since it was opened (and gated).
        presented = request.digest().hex()
        if row.digest is None or not hmac.compare_digest(presented, row.digest):
            raise CeremonyInvalidError("Payload changed during the ceremony")
        return wallet, row

    def sign_nonce(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, request: SignRequest,
                   message: dict[str, Any], *, key_version: int | None = None) -> dict[str, Any]:
        """``…/signMessage/{ceremonyId}/nonce``: check the client's nonce proof, reveal R1."""
        client_msg = p2.SignNonce.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            _, row = self._round(uow, ctx, wallet_id, ceremony_id, request, Stage.OPENED, now, key_version)
            state = p2.ServerSignState.from_json(self.vault.open_state(row))
            reveal, state = p2.server_sign_reveal(state, client_msg)
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.REPLIED, now, state=state.to_json())
        return {"ceremonyId": ceremony_id, "message": reveal.to_json()}

    def sign_complete(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, request: SignRequest,
                      message: dict[str, Any], *, key_version: int | None = None) -> dict[str, Any]:
        """``…/signMessage/{ceremonyId}/complete``: decrypt, finish and verify the signature; an
        invalid one locks the wallet."""
        client_msg = p2.SignPartial.from_json(message)
        now = self.clock.now()
        failure: ActionMFAError | None = None
        result: dict[str, Any] = {}
        with self.db.write() as uow:
            wallet, row = self._round(uow, ctx, wallet_id, ceremony_id, request, Stage.REPLIED, now, key_version)
            state = p2.ServerSignState.from_json(self.vault.open_state(row))
            # Claim the round before using the share, so that it runs at most once.
            self.vault.advance(uow, ceremony_id, Stage.REPLIED, Stage.CLAIMED, now)
            share = self.vault.open_share(wallet)
            try:
                sig = p2.server_sign_complete(share, state, client_msg)
            except WalletProofInvalidError as exc:
                # c3 failed its proof and was never decrypted: nothing leaked, so no lock, but the
                # ceremony ends here (a second try needs a new ceremony, hence a new gate pass).
                uow.wallets.advance(ceremony_id, from_stage=Stage.CLAIMED, to_stage=Stage.DONE, now=now, state="",
                                    outcome=CeremonyOutcome.INVALID_PROOF)
                audit.record(uow, ctx, AuditEvent.WALLET_SIGN_PROOF_INVALID, now=now,
                             action=MFAAction.WALLET_WAAS_SIGN.value, outcome="refused", walletId=wallet.id,
                             ceremonyId=ceremony_id, digest=row.digest)
                failure = exc
            except WalletSignatureInvalidError:
                self.vault.lock_after_invalid_signature(uow, wallet.id, ceremony_id, now)
                audit.record(uow, ctx, AuditEvent.WALLET_SIGNATURE_INVALID, now=now,
                             action=MFAAction.WALLET_WAAS_SIGN.value, outcome="locked", walletId=wallet.id,
                             ceremonyId=ceremony_id, digest=row.digest)
                log.warning("wallet %s locked: ceremony %s produced an invalid signature", wallet.id, ceremony_id)
                failure = WalletSignatureInvalidError(
                    "Signature verification failed; the wallet is locked for signing"
                )
            else:
                uow.wallets.advance(ceremony_id, from_stage=Stage.CLAIMED, to_stage=Stage.DONE, now=now, state="",
                                    outcome=CeremonyOutcome.OK)
                uow.wallets.record_signature(wallet.id, now=now)
                audit.record(uow, ctx, AuditEvent.WALLET_SIGNED, now=now, action=MFAAction.WALLET_WAAS_SIGN.value,
                             outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                             payloadKind=request.kind.value, digest=row.digest)
                result = signature_result(ceremony_id, request, sig)
        if failure is not None:
            raise failure  # after the lock and the audit row have committed
        return result
