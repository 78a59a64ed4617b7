"""MFA-gated Solana signing (DESIGN §7): two-round FROST with the server as coordinator.

``POST /waas/{walletId}/signMessage {kind: "solTransaction" | "solMessage", payload}`` parses the
message itself (:mod:`actionmfa.wallet.solana.payloads`), runs the gate for ``wallet.waas.sign``
(with a token bound to the payload's ``approvalDigest`` if the token is), and only then draws the
server's nonce pair and answers its commitments, the digest the ceremony is bound to and the
approval facts (:func:`actionmfa.wallet.solana.summary.summarize`). ``…/signMessage/{ceremonyId}/complete``
shows the payload again (the digest is recomputed and compared), **claims the round** — the
conditional UPDATE that moves the ceremony on also erases its sealed nonces, so they are used at
most once even if the round is retried — then checks the user's signature share, adds the server's,
and verifies the Ed25519 signature before answering it. A lost answer is retried as a new ceremony:
new gate decision, new nonces on both sides.

An invalid user share ends the ceremony (``wallet_signature_invalid``) without locking the wallet:
unlike Lindell'17, FROST's check is on public values only, so the server's refusal says nothing about
its share (RFC 9591 §5.4, identifiable abort).
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Stage
from actionmfa.errors import ActionMFAError, CeremonyInvalidError, WalletLockedError, WalletSignatureInvalidError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate, denials_recorded
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.solana_shares import SolanaShares
from actionmfa.services.wallets.solana_views import summary_json
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost.keys import verify_ed25519
from actionmfa.wallet.solana.payloads import SolanaPayloadKind, SolanaSignRequest
from actionmfa.wallet.solana.summary import summarize


class SolanaSigning:
    def __init__(self, db: Transactions[WalletUnit], clock: Clock, gate: Gate, vault: WalletVault,
                 shares: SolanaShares) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate
        self.vault = vault
        self.shares = shares

    def open_sign(self, ctx: AuthContext, wallet_id: str, request: SolanaSignRequest, proof: Proof) -> dict[str, Any]:
        digest = request.digest()
        now = self.clock.now()
        ceremony_id = str(uuid.uuid4())
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self.shares.wallet(uow, ctx, wallet_id)
            if wallet.locked_at is not None:
                raise WalletLockedError()
            signer_index = request.require_signer(wallet.address)
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_SIGN,
                                         proof.bound_to(request.approval_digest(wallet_id=wallet.id)))
            share = self.shares.open(wallet)
            message, state = fc.server_sign_begin(share)
            expires = self.vault.open_ceremony(
                uow, ceremony_id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.SIGN,
                state={"frost": state, "signerIndex": signer_index}, now=now, payload_kind=request.kind.value,
                digest=digest.hex(), purge=True,
            )
            audit.record(uow, ctx, AuditEvent.WALLET_SIGN_OPENED, action=MFAAction.WALLET_WAAS_SIGN.value,
                         now=now, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         payloadKind=request.kind.value, digest=digest.hex(), via=decision.via.value)
        out: dict[str, Any] = {
            "ceremonyId": ceremony_id, "walletId": wallet_id, "digest": "0x" + digest.hex(),
            "keyVersion": wallet.key_version, "expiresAt": expires.isoformat(), "signerIndex": signer_index,
            "message": message,
        }
        if request.kind is SolanaPayloadKind.TRANSACTION:
            out["summary"] = summary_json(summarize(request.transaction_message()))
        return out

    def sign_complete(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, request: SolanaSignRequest,
                      message: dict[str, Any], *, key_version: int | None = None) -> dict[str, Any]:
        now = self.clock.now()
        failure: ActionMFAError | None = None
        result: dict[str, Any] = {}
        with self.db.write() as uow:
            wallet = self.shares.wallet(uow, ctx, wallet_id, for_update=True)
            row = self.vault.live_ceremony(uow, ctx, ceremony_id, CeremonyKind.SIGN, Stage.OPENED, now)
            if row.wallet_id != wallet.id or row.payload_kind != request.kind.value:
                raise CeremonyInvalidError()
            if wallet.locked_at is not None:
                raise WalletLockedError()
            if key_version is not None and key_version != wallet.key_version:
                raise CeremonyInvalidError("The wallet was refreshed; reload the share and sign again")
            # The payload is shown again; a ceremony whose message changed since it was gated is refused.
            if row.digest is None or not hmac.compare_digest(request.digest().hex(), row.digest):
                raise CeremonyInvalidError("Payload changed during the ceremony")
            state = self.vault.open_state(row)
            # Claim the round before the nonces are used: the same UPDATE erases them from the row, so
            # a concurrent or repeated completion finds nothing to sign with (RFC 9591 §5.2).
            self.vault.advance(uow, ceremony_id, Stage.OPENED, Stage.CLAIMED, now)
            share = self.shares.open(wallet)
            try:
                signature = fc.server_sign_complete(share, state["frost"], request.message, message)
                result = self._result(ceremony_id, wallet.address, request, signature, int(state["signerIndex"]))
            except ActionMFAError as exc:
                # Whatever went wrong, the claimed round stays spent (committed below): its nonces
                # are never offered to a second user message.
                uow.wallets.fail(ceremony_id, outcome=CeremonyOutcome.INVALID_SIGNATURE, now=now)
                audit.record(uow, ctx, AuditEvent.WALLET_SIGNATURE_INVALID, now=now,
                             action=MFAAction.WALLET_WAAS_SIGN.value, outcome="refused", walletId=wallet.id,
                             ceremonyId=ceremony_id, digest=row.digest)
                failure = exc
            else:
                uow.wallets.advance(ceremony_id, from_stage=Stage.CLAIMED, to_stage=Stage.DONE, now=now, state="",
                                    outcome=CeremonyOutcome.OK)
                uow.wallets.record_signature(wallet.id, now=now)
                audit.record(uow, ctx, AuditEvent.WALLET_SIGNED, now=now, action=MFAAction.WALLET_WAAS_SIGN.value,
                             outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                             payloadKind=request.kind.value, digest=row.digest)
        if failure is not None:
            raise failure  # after the failed outcome and the audit row have committed
        return result

    @staticmethod
    def _result(ceremony_id: str, address: str, request: SolanaSignRequest, signature: bytes,
                signer_index: int) -> dict[str, Any]:
        # Defence in depth: a second, independent verification (solders) of what is about to leave.
        sig = Signature.from_bytes(signature)
        if not sig.verify(Pubkey.from_string(address), request.message) or not verify_ed25519(
            bytes(Pubkey.from_string(address)), request.message, signature
        ):
            raise WalletSignatureInvalidError("The aggregate signature does not verify")
        return {"ceremonyId": ceremony_id, "digest": "0x" + request.digest().hex(), "signature": str(sig),
                "signatureHex": signature.hex(), "signerIndex": signer_index}
