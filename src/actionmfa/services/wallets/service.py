"""Embedded wallets (DESIGN §7): key generation, MFA-gated signing ceremonies, gated export.

The server is party P1 of the two-party ECDSA of :mod:`actionmfa.wallet.ecdsa2p`; its share and
Paillier secret key live in ``waas_wallets.server_share`` (Keyring-sealed). Because every
signature needs P1's share, the gate is enforced by cryptography: the server takes part in a
signing ceremony only after :meth:`Gate.enforce` allowed ``wallet.waas.sign`` when it opened.

Each round is its own write transaction; a ceremony's ``stage`` moves on with one conditional
UPDATE (so a round cannot be replayed or run twice concurrently), the ceremony is bound to the
digest the server computed from the payload and expires 60 s after opening. A round whose result
is an invalid signature locks the wallet for signing and is audited (CVE-2023-33242).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.errors import (
    ActionMFAError,
    CeremonyInvalidError,
    InvalidRequestError,
    NotFoundError,
    WalletLimitError,
    WalletLockedError,
    WalletReshareConflictError,
    WalletSignatureInvalidError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.gate import Gate, denials_recorded, gate_for
from actionmfa.store.db import Database
from actionmfa.store.repos.wallets import CeremonyRow, WalletRepo, WalletRow
from actionmfa.store.uow import UnitOfWork
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import address_of, point_to_hex
from actionmfa.wallet.export import ExportEnvelope, export_info, parse_recipient_key, seal_share
from actionmfa.wallet.keypool import KeyPool, default_paillier_generator
from actionmfa.wallet.payloads import PayloadKind, SignRequest, signed_raw_transaction
from actionmfa.wallet.refresh import (
    RefreshConfirm,
    RefreshContribution,
    ServerRefreshState,
    refresh_session_id,
    server_refresh_begin,
    server_refresh_confirm,
    server_refresh_open,
)

log = logging.getLogger("actionmfa.wallets")

CEREMONY_TTL_SECONDS = 60
MAX_WALLETS_PER_USER = 20
MAX_OPEN_KEYGENS_PER_USER = 3
PURGE_AFTER_SECONDS = 3600  # expired ceremony rows (sealed round state) are deleted an hour later
WALLET_SERVICE_KEY = "wallets"
KEYPOOL_KEY = "wallet_keypool"
GENERATOR_KEY = "wallet_paillier_generator"  # tests inject a fast generator here
EXPORT_HOOKS_KEY = "wallet_export_hooks"
_SERVICE_LOCK = threading.Lock()
CHAIN_EVM = "EVM"


class CeremonyKind(StrEnum):
    KEYGEN = "keygen"
    SIGN = "sign"
    REFRESH = "refresh"
    RESHARE = "reshare"


class WalletAuditEvent(StrEnum):
    CREATED = "wallet.created"
    SIGN_OPENED = "wallet.sign_opened"
    SIGNED = "wallet.signed"
    SIGNATURE_INVALID = "wallet.signature_invalid"
    REFRESH_OPENED = "wallet.refresh_opened"
    REFRESHED = "wallet.refreshed"
    EXPORTED = "wallet.exported"
    UNLOCKED = "wallet.unlocked"
    RESHARE_OPENED = "wallet.reshare_opened"
    RESHARED = "wallet.reshared"
    DELEGATION_DELIVERED = "wallet.delegation_delivered"
    DELEGATION_DELIVERY_FAILED = "wallet.delegation_delivery_failed"
    DELEGATION_SECRET_CREATED = "wallet.delegation_secret_created"  # noqa: S105 - an event name
    DELEGATED_SIGN_OPENED = "wallet.delegated_sign_opened"
    DELEGATED_SIGNED = "wallet.delegated_signed"


# Stages: keygen 1 → done; sign 1 (committed) → 2 (revealed) → 3 (signing) → done;
# refresh 1 (committed) → 2 (opened) → done.
_DONE = 99


@dataclass(frozen=True)
class WalletView:
    id: str
    chain: str
    address: str
    public_key: str
    locked: bool
    key_version: int
    created_at: datetime
    threshold_scheme: str = "TWO_OF_TWO"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chain": self.chain,
            "address": self.address,
            "publicKey": self.public_key,
            "locked": self.locked,
            "keyVersion": self.key_version,
            "createdAt": self.created_at.isoformat(),
            "thresholdSignatureScheme": self.threshold_scheme,
        }

    @classmethod
    def of(cls, row: WalletRow) -> WalletView:
        return cls(row.id, row.chain, row.address, row.public_key, row.locked_at is not None, row.key_version,
                   row.created_at, row.threshold_scheme)


@dataclass(frozen=True)
class ExportNotice:
    """What an export notification hook receives (no secret material)."""

    environment_id: str
    user_id: str
    wallet_id: str
    address: str
    request_id: str
    at: datetime


def _json_dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class WalletService:
    def __init__(self, db: Database, keyring: Keyring, clock: Clock, gate: Gate,
                 pool: KeyPool[p2.PreparedPaillier]) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.gate = gate
        self.pool = pool
        self.export_hooks: list[Callable[[ExportNotice], None]] = []

    # -- sealing ---------------------------------------------------------------------------------
    def _seal_share(self, wallet_id: str, share: p2.ServerKeyShare) -> str:
        return self.keyring.encrypt(_json_dumps(share.to_json()), aad=f"waas-wallet:{wallet_id}")

    def _open_share(self, row: WalletRow) -> p2.ServerKeyShare:
        data = json.loads(self.keyring.decrypt(row.server_share, aad=f"waas-wallet:{row.id}"))
        return p2.ServerKeyShare.from_json(data)

    def _seal_state(self, ceremony_id: str, state: dict[str, Any]) -> str:
        return self.keyring.encrypt(_json_dumps(state), aad=f"waas-ceremony:{ceremony_id}")

    def _open_state(self, row: CeremonyRow) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.keyring.decrypt(row.state, aad=f"waas-ceremony:{row.id}"))
        return data

    # -- lookups -----------------------------------------------------------------------------------
    def _wallet(self, uow: UnitOfWork, ctx: AuthContext, wallet_id: str, *, for_update: bool = False) -> WalletRow:
        row = WalletRepo(uow.conn).wallet(ctx.environment.id, ctx.user.id, wallet_id, for_update=for_update)
        if row is None:
            raise NotFoundError("Wallet not found")
        return row

    def _live_ceremony(self, uow: UnitOfWork, ctx: AuthContext, ceremony_id: str, kind: CeremonyKind,
                       stage: int, now: datetime) -> CeremonyRow:
        row = WalletRepo(uow.conn).ceremony(ceremony_id, environment_id=ctx.environment.id,
                                            session_id=ctx.session.id, kind=kind.value)
        if row is None or row.user_id != ctx.user.id:
            raise CeremonyInvalidError()
        if row.outcome is not None or row.stage != stage:
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        if row.expires_at <= now:
            raise CeremonyInvalidError("Ceremony expired")
        return row

    def list_wallets(self, ctx: AuthContext) -> list[WalletView]:
        with self.db.read() as uow:
            return [WalletView.of(r) for r in WalletRepo(uow.conn).wallets_of(ctx.environment.id, ctx.user.id)]

    # -- key generation ------------------------------------------------------------------------------
    def open_keygen(self, ctx: AuthContext) -> dict[str, Any]:
        """Round 1: the server commits to its public share. The Paillier key comes from the pool.

        Creation is not gated, so it is bounded per user: each opening consumes a pooled key that
        costs seconds of prime search to replace.
        """
        now = self.clock.now()
        with self.db.read() as uow:
            repo = WalletRepo(uow.conn)
            if len(repo.wallets_of(ctx.environment.id, ctx.user.id)) >= MAX_WALLETS_PER_USER:
                raise WalletLimitError(f"At most {MAX_WALLETS_PER_USER} wallets per user")
            if repo.open_keygens(ctx.user.id, now) >= MAX_OPEN_KEYGENS_PER_USER:
                raise WalletLimitError("Too many wallet creations in progress; finish or wait a minute")
        prepared = self.pool.take(wait=30.0)
        ceremony_id = str(uuid.uuid4())
        sid = p2.keygen_session_id(ceremony_id, ctx.environment.id, ctx.user.id)
        message, state = p2.server_keygen_begin(sid, prepared)
        expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
        with self.db.write() as uow:
            WalletRepo(uow.conn).purge_expired(before=now - timedelta(seconds=PURGE_AFTER_SECONDS))
            WalletRepo(uow.conn).add_ceremony(
                id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=None, kind=CeremonyKind.KEYGEN.value, payload_kind=None,
                digest=None, stage=1, state=self._seal_state(ceremony_id, state.to_json()), outcome=None,
                created_at=now, expires_at=expires, completed_at=None,
            )
        return {"ceremonyId": ceremony_id, "userId": ctx.user.id, "expiresAt": expires.isoformat(),
                "message": message.to_json()}

    def finish_keygen(self, ctx: AuthContext, ceremony_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Round 2: check the client's proof, store the new wallet, open the commitment."""
        client_msg = p2.KeygenShare.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            repo = WalletRepo(uow.conn)
            row = self._live_ceremony(uow, ctx, ceremony_id, CeremonyKind.KEYGEN, 1, now)
            state = p2.ServerKeygenState.from_json(self._open_state(row))
            opening, share = p2.server_keygen_finish(state, client_msg)
            wallet_id = str(uuid.uuid4())
            address = address_of(share.public_key)
            repo.add_wallet(
                id=wallet_id, environment_id=ctx.environment.id, user_id=ctx.user.id, chain=CHAIN_EVM,
                address=address, public_key=point_to_hex(share.public_key),
                server_share=self._seal_share(wallet_id, share), key_version=1, lock_reason=None,
                lock_count=0, created_at=now, updated_at=now, locked_at=None,
            )
            # The conditional UPDATE is the guard: a second finish of the same ceremony rolls back.
            if not repo.advance(ceremony_id, from_stage=1, to_stage=_DONE, now=now, state="", outcome="ok",
                                wallet_id=wallet_id):
                raise CeremonyInvalidError()
            audit.record(uow, ctx, WalletAuditEvent.CREATED, now=now, outcome="ok", walletId=wallet_id,
                         address=address, modulusBits=share.paillier.n.bit_length())
            wallet = repo.wallet(ctx.environment.id, ctx.user.id, wallet_id)
        assert wallet is not None  # noqa: S101 - inserted above
        return {"wallet": WalletView.of(wallet).to_json(), "message": opening.to_json()}

    # -- signing -----------------------------------------------------------------------------------------
    def open_sign(self, ctx: AuthContext, wallet_id: str, request: SignRequest, *,
                  mfa_token: str | None, elevated_token: str | None) -> dict[str, Any]:
        """Open a signing ceremony: the gate runs first; refused → nothing stored, no share touched."""
        digest = request.digest()
        now = self.clock.now()
        ceremony_id = str(uuid.uuid4())
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self._wallet(uow, ctx, wallet_id)
            if wallet.locked_at is not None:
                raise WalletLockedError()
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_SIGN, mfa_token=mfa_token,
                                         elevated_token=elevated_token,
                                         approval_digest=request.approval_digest())
            sid = p2.sign_session_id(wallet.id, ceremony_id, digest)
            message, state = p2.server_sign_begin(sid, digest)
            expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
            WalletRepo(uow.conn).purge_expired(before=now - timedelta(seconds=PURGE_AFTER_SECONDS))
            WalletRepo(uow.conn).add_ceremony(
                id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.SIGN.value,
                payload_kind=request.kind.value, digest=digest.hex(), stage=1,
                state=self._seal_state(ceremony_id, state.to_json()), outcome=None,
                created_at=now, expires_at=expires, completed_at=None,
            )
            audit.record(uow, ctx, WalletAuditEvent.SIGN_OPENED, action=MFAAction.WALLET_WAAS_SIGN.value,
                         now=now, outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         payloadKind=request.kind.value, digest=digest.hex(), via=decision.via)
        return {"ceremonyId": ceremony_id, "walletId": wallet_id, "digest": "0x" + digest.hex(),
                "keyVersion": wallet.key_version, "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _sign_round(self, uow: UnitOfWork, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                    request: SignRequest, stage: int, now: datetime,
                    key_version: int | None) -> tuple[WalletRow, CeremonyRow]:
        # The last round locks the wallet row: a ceremony that fails and locks the wallet is seen by
        # every completion after it, also under READ COMMITTED on PostgreSQL.
        wallet = self._wallet(uow, ctx, wallet_id, for_update=stage == 2)
        row = self._live_ceremony(uow, ctx, ceremony_id, CeremonyKind.SIGN, stage, now)
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
        """Round 2: check the client's nonce proof, reveal R1."""
        client_msg = p2.SignNonce.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            _, row = self._sign_round(uow, ctx, wallet_id, ceremony_id, request, 1, now, key_version)
            state = p2.ServerSignState.from_json(self._open_state(row))
            reveal, state = p2.server_sign_reveal(state, client_msg)
            sealed = self._seal_state(ceremony_id, state.to_json())
            if not WalletRepo(uow.conn).advance(ceremony_id, from_stage=1, to_stage=2, now=now, state=sealed):
                raise CeremonyInvalidError()
        return {"ceremonyId": ceremony_id, "message": reveal.to_json()}

    def sign_complete(self, ctx: AuthContext, wallet_id: str, ceremony_id: str, request: SignRequest,
                      message: dict[str, Any], *, key_version: int | None = None) -> dict[str, Any]:
        """Round 3: decrypt, finish and verify the signature; an invalid one locks the wallet."""
        client_msg = p2.SignPartial.from_json(message)
        now = self.clock.now()
        failure: ActionMFAError | None = None
        result: dict[str, Any] = {}
        with self.db.write() as uow:
            repo = WalletRepo(uow.conn)
            wallet, row = self._sign_round(uow, ctx, wallet_id, ceremony_id, request, 2, now, key_version)
            state = p2.ServerSignState.from_json(self._open_state(row))
            # Claim the round before using the share, so that it runs at most once.
            if not repo.advance(ceremony_id, from_stage=2, to_stage=3, now=now, state=""):
                raise CeremonyInvalidError()
            share = self._open_share(wallet)
            try:
                sig = p2.server_sign_complete(share, state, client_msg)
            except WalletSignatureInvalidError:
                # Lindell'17 abort attack (CVE-2023-33242): whether P1 aborts leaks about one bit of
                # x1, so after one failure this key never signs again until an operator acts.
                repo.lock(wallet.id, reason="invalid_signature", now=now)
                repo.fail(ceremony_id, outcome="invalid_signature", now=now)
                audit.record(uow, ctx, WalletAuditEvent.SIGNATURE_INVALID, now=now,
                             action=MFAAction.WALLET_WAAS_SIGN.value, outcome="locked", walletId=wallet.id,
                             ceremonyId=ceremony_id, digest=row.digest)
                log.warning("wallet %s locked: ceremony %s produced an invalid signature", wallet.id, ceremony_id)
                failure = WalletSignatureInvalidError(
                    "Signature verification failed; the wallet is locked for signing"
                )
            else:
                repo.advance(ceremony_id, from_stage=3, to_stage=_DONE, now=now, state="", outcome="ok")
                audit.record(uow, ctx, WalletAuditEvent.SIGNED, now=now, action=MFAAction.WALLET_WAAS_SIGN.value,
                             outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                             payloadKind=request.kind.value, digest=row.digest)
                result = {"ceremonyId": ceremony_id, "digest": "0x" + request.digest().hex(),
                          "signature": sig.to_json()}
                if request.kind is PayloadKind.TRANSACTION:
                    result["signedTransaction"] = "0x" + signed_raw_transaction(request, sig).hex()
        if failure is not None:
            raise failure  # after the lock and the audit row have committed
        return result

    # -- refresh ----------------------------------------------------------------------------------------------
    def open_refresh(self, ctx: AuthContext, wallet_id: str, *, mfa_token: str | None,
                     elevated_token: str | None) -> dict[str, Any]:
        """Open a refresh (gate: ``wallet.waas.refresh``): commit to ρ1, set aside a new Paillier key.

        A locked wallet may be refreshed (it stays locked: unlocking is the operator's decision).
        """
        prepared = self.pool.take(wait=30.0)
        ceremony_id = str(uuid.uuid4())
        now = self.clock.now()
        try:
            with denials_recorded(self.db), self.db.write() as uow:
                wallet = self._wallet(uow, ctx, wallet_id)
                if wallet.threshold_scheme != "TWO_OF_TWO":
                    # An additive refresh of the user pair would leave the delegate's Shamir share
                    # on another polynomial (useless); revoke the delegation first.
                    raise WalletReshareConflictError("A delegated wallet cannot be refreshed; revoke first")
                decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_REFRESH, mfa_token=mfa_token,
                                             elevated_token=elevated_token)
                sid = refresh_session_id(wallet.id, ceremony_id, wallet.key_version)
                message, state = server_refresh_begin(sid, prepared)
                expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
                sealed = self._seal_state(ceremony_id, {"keyVersion": wallet.key_version, **state.to_json()})
                WalletRepo(uow.conn).add_ceremony(
                    id=ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                    session_id=ctx.session.id, wallet_id=wallet.id, kind=CeremonyKind.REFRESH.value,
                    payload_kind=None, digest=None, stage=1, state=sealed, outcome=None,
                    created_at=now, expires_at=expires, completed_at=None,
                )
                audit.record(uow, ctx, WalletAuditEvent.REFRESH_OPENED, now=now,
                             action=MFAAction.WALLET_WAAS_REFRESH.value, outcome="ok", walletId=wallet.id,
                             ceremonyId=ceremony_id, via=decision.via)
        except BaseException:
            self.pool.put(prepared)  # unused: give it back
            raise
        return {"ceremonyId": ceremony_id, "walletId": wallet.id, "keyVersion": wallet.key_version,
                "expiresAt": expires.isoformat(), "message": message.to_json()}

    def _refresh_round(self, uow: UnitOfWork, ctx: AuthContext, wallet_id: str, ceremony_id: str, stage: int,
                       now: datetime) -> tuple[WalletRow, CeremonyRow, ServerRefreshState]:
        wallet = self._wallet(uow, ctx, wallet_id, for_update=True)
        row = self._live_ceremony(uow, ctx, ceremony_id, CeremonyKind.REFRESH, stage, now)
        data = self._open_state(row)
        if row.wallet_id != wallet.id or data.get("keyVersion") != wallet.key_version:
            raise CeremonyInvalidError("The wallet changed since this refresh was opened")
        return wallet, row, ServerRefreshState.from_json(data)

    def refresh_open(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                     message: dict[str, Any]) -> dict[str, Any]:
        """Round 2: combine ρ, compute x1' and ckey' under the new key; keep them pending."""
        contribution = RefreshContribution.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet, _, state = self._refresh_round(uow, ctx, wallet_id, ceremony_id, 1, now)
            opening, state = server_refresh_open(self._open_share(wallet), state, contribution)
            sealed = self._seal_state(ceremony_id, {"keyVersion": wallet.key_version, **state.to_json()})
            if not WalletRepo(uow.conn).advance(ceremony_id, from_stage=1, to_stage=2, now=now, state=sealed):
                raise CeremonyInvalidError()
        return {"ceremonyId": ceremony_id, "message": opening.to_json()}

    def refresh_confirm(self, ctx: AuthContext, wallet_id: str, ceremony_id: str,
                        message: dict[str, Any]) -> dict[str, Any]:
        """Round 3: the client proved it holds x2'; switch to (x1', N') and drop the old Paillier key."""
        confirm = RefreshConfirm.from_json(message)
        now = self.clock.now()
        with self.db.write() as uow:
            repo = WalletRepo(uow.conn)
            wallet, _, state = self._refresh_round(uow, ctx, wallet_id, ceremony_id, 2, now)
            new_share = server_refresh_confirm(self._open_share(wallet), state, confirm)
            if not repo.advance(ceremony_id, from_stage=2, to_stage=_DONE, now=now, state="", outcome="ok"):
                raise CeremonyInvalidError()
            repo.replace_share(wallet.id, server_share=self._seal_share(wallet.id, new_share),
                               key_version=wallet.key_version + 1, now=now)
            audit.record(uow, ctx, WalletAuditEvent.REFRESHED, now=now, action=MFAAction.WALLET_WAAS_REFRESH.value,
                         outcome="ok", walletId=wallet.id, ceremonyId=ceremony_id,
                         shareVersion=wallet.key_version + 1, locked=wallet.locked_at is not None)
            updated = repo.wallet(ctx.environment.id, ctx.user.id, wallet.id)
        assert updated is not None  # noqa: S101
        return {"wallet": WalletView.of(updated).to_json()}

    # -- export --------------------------------------------------------------------------------------------
    def export(self, ctx: AuthContext, wallet_id: str, *, recipient_public_key: str, request_id: str,
               mfa_token: str | None, elevated_token: str | None) -> dict[str, Any]:
        """HPKE-seal the server share to the client's ephemeral key (gate: ``wallet.waas.export``)."""
        recipient = parse_recipient_key(recipient_public_key)
        if not request_id or len(request_id) > 128:
            raise InvalidRequestError("A request id is required", field="x-dyn-request-id")
        now = self.clock.now()
        with denials_recorded(self.db), self.db.write() as uow:
            wallet = self._wallet(uow, ctx, wallet_id)
            decision = self.gate.enforce(uow, ctx, MFAAction.WALLET_WAAS_EXPORT, mfa_token=mfa_token,
                                         elevated_token=elevated_token)
            token_ref = decision.token_id or "none"
            share = self._open_share(wallet)
            envelope: ExportEnvelope = seal_share(share.x1, recipient, export_info(wallet.id, request_id, token_ref))
            audit.record(uow, ctx, WalletAuditEvent.EXPORTED, now=now, action=MFAAction.WALLET_WAAS_EXPORT.value,
                         outcome="ok", walletId=wallet.id, address=wallet.address, requestId=request_id,
                         via=decision.via)
        notice = ExportNotice(ctx.environment.id, ctx.user.id, wallet.id, wallet.address, request_id, now)
        for hook in self.export_hooks:
            try:
                hook(notice)
            except Exception:  # a notification failure must not undo a committed export
                log.exception("wallet export hook failed")
        return {**envelope.to_json(), "walletId": wallet.id, "requestId": request_id, "tokenId": token_ref,
                "keyVersion": wallet.key_version}


def wallet_service_for(runtime: Any) -> WalletService:
    """The process's wallet service and its background Paillier key pool (cached in ``extras``)."""
    service = runtime.extras.get(WALLET_SERVICE_KEY)
    if service is not None:
        return service  # type: ignore[no-any-return]
    with _SERVICE_LOCK:  # two first requests at once must not build two pools
        service = runtime.extras.get(WALLET_SERVICE_KEY)
        if service is not None:
            return service  # type: ignore[no-any-return]
        generator = runtime.extras.get(GENERATOR_KEY)
        if generator is None:
            generator = default_paillier_generator()
            runtime.extras.setdefault("on_shutdown", []).append(generator.close)
        size = int(runtime.extras.get("wallet_pool_size", 4))
        pool: KeyPool[p2.PreparedPaillier] = KeyPool(generator, size=size)
        pool.start()
        runtime.extras.setdefault("on_shutdown", []).insert(0, pool.stop)
        runtime.extras[KEYPOOL_KEY] = pool
        service = WalletService(runtime.db, runtime.keyring, runtime.clock, gate_for(runtime), pool)
        service.export_hooks.extend(runtime.extras.get(EXPORT_HOOKS_KEY, []))
        runtime.extras[WALLET_SERVICE_KEY] = service
        return service
