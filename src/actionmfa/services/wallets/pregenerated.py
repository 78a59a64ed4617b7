"""Pregenerated wallets (issue 13.1; Dynamic's *Waas Refresh* "when a user claims a pregenerated MPC
wallet for the first time").

Life of one wallet:

1. **Created** by the operator for an email or an external-auth ``sub`` (``POST
   /api/v0/environments/{id}/waas/pregenerated``): the two-party key generation runs with a
   server-side stand-in for the user's side (:func:`actionmfa.wallet.pregenerated.standin_keygen`).
   The server share is sealed as every server share is; the stand-in's share under its own AAD and an
   inner layer under the keyring's ``waas-standin`` subkey. Idempotent per (identity, chain): the same
   identity gets the same wallet back. **From here until step 4 the operator is custodial.**
2. **Attached** at the identity's sign-in (email code or external JWT), in the sign-in's own
   transaction: a ``waas_wallets`` row with ``custody = pregenerated`` — listed as ``pregenerated`` in
   ``GET /waas/wallets`` and in ``verifiedCredentials``; it neither signs, exports nor reshares (409
   ``wallet_claim_required``).
3. **Delivered** (``POST /waas/{walletId}/claim``): the stand-in share HPKE-sealed to the SDK's
   ephemeral key; repeatable (a lost answer) until step 4, only to the wallet's user.
4. **Refreshed**: the ordinary refresh ceremony, gated by ``wallet.waas.refresh``; the transaction
   that commits it erases the stand-in share and lifts the custody mark
   (:func:`erase_standin`). Afterwards a second claim is 409 ``wallet_already_claimed``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring, b64u, b64u_decode
from actionmfa.domain.models import AuthContext, Environment, User
from actionmfa.domain.records import PregeneratedRow, WalletRow
from actionmfa.domain.wallets import Chain, Custody, IdentityType
from actionmfa.errors import (
    InvalidRequestError,
    PregeneratedBatchTooLargeError,
    WalletAlreadyClaimedError,
    WalletChainUnsupportedError,
)
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.services.core.ports import CoreUnit, Transactions
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import point_to_hex
from actionmfa.wallet.export import parse_recipient_key
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier
from actionmfa.wallet.pregenerated import claim_info, pregenerated_session_id, seal_standin, standin_keygen

__all__ = ["MAX_BATCH", "Identity", "Pregenerated", "PregeneratedResult", "erase_standin", "parse_identities",
           "standin_aad"]

MAX_BATCH = 1000  # identities per request
WRITE_CHUNK = 25  # wallets generated (outside any transaction) before each short write transaction
_STANDIN_PURPOSE = "waas-standin"
# The email sign-in's rule (services/signin/email.py), so that the address typed by the operator is
# the one the user's sign-in stores.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_MAX_SUB = 255

Progress = Callable[[int, int], None]  # (done, total)


def standin_aad(wallet_id: str) -> str:
    return f"waas-standin:{wallet_id}"


@dataclass(frozen=True)
class Identity:
    type: IdentityType
    identifier: str

    @classmethod
    def parse(cls, kind: str, identifier: str, *, field: str) -> Identity:
        """Normalised as the sign-in stores it; 422 ``invalid_request`` (with ``field``) otherwise."""
        try:
            identity_type = IdentityType(kind)
        except ValueError:
            raise InvalidRequestError("type must be 'email' or 'externalUserId'", field=f"{field}.type") from None
        if identity_type is IdentityType.EMAIL:
            email = identifier.strip().lower()
            if len(email) > 320 or not _EMAIL_RE.match(email):
                raise InvalidRequestError("not a valid email address", field=f"{field}.identifier")
            return cls(identity_type, email)
        if not identifier or len(identifier) > _MAX_SUB or identifier != identifier.strip():
            raise InvalidRequestError("an external user id is 1-255 characters without surrounding spaces",
                                      field=f"{field}.identifier")
        return cls(identity_type, identifier)

    @property
    def label(self) -> str:
        return f"{self.type.value}:{self.identifier}"


def parse_identities(lines: Sequence[str], *, source: str) -> list[Identity]:
    """One identity a line (the CLI's ``--file`` and the dashboard's form): an email address, optionally
    ``email:`` in front, or ``externalUserId:<sub>``; blank lines and ``#`` comments skipped. A bad
    line is 422 ``invalid_request`` with ``field`` = ``<source>:<line number>``."""
    out = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, rest = line.partition(":")
        if sep and kind in (IdentityType.EMAIL.value, IdentityType.EXTERNAL_USER_ID.value):
            out.append(Identity.parse(kind, rest.strip(), field=f"{source}:{number}"))
        else:
            out.append(Identity.parse(IdentityType.EMAIL.value, line, field=f"{source}:{number}"))
    return out


@dataclass(frozen=True)
class PregeneratedResult:
    identity: Identity
    row: PregeneratedRow
    created: bool

    @property
    def status(self) -> str:
        """``sealed`` (waiting for the sign-in), ``pregenerated`` (attached, not claimed), ``claimed``."""
        if self.row.erased_at is not None:
            return "claimed"
        return "sealed" if self.row.user_id is None else "pregenerated"

    def to_json(self) -> dict[str, Any]:
        return {"identifier": self.identity.identifier, "type": self.identity.type.value, "walletId": self.row.id,
                "chain": self.row.chain, "address": self.row.address, "publicKey": self.row.public_key,
                "created": self.created, "status": self.status, "userId": self.row.user_id}


@dataclass(frozen=True)
class _Generated:
    identity: Identity
    wallet_id: str
    ceremony_id: str
    address: str
    public_key: str
    server_share: str
    standin_share: str
    modulus_bits: int


def erase_standin(uow: WalletUnit, ctx: AuthContext, wallet: WalletRow, now: datetime, *, ceremony_id: str) -> None:
    """In the transaction that commits the claim's refresh: the stand-in share goes, the wallet is the
    user's own. (Its share no longer combines with the server's current one: x1' = x1 + ρ.)"""
    if wallet.custody is None:
        return
    if uow.pregenerated.erase_standin(wallet.id, now=now):
        audit.record(uow, ctx, AuditEvent.WALLET_STANDIN_ERASED, now=now, outcome="ok", walletId=wallet.id,
                     ceremonyId=ceremony_id, address=wallet.address)


class Pregenerated:
    def __init__(self, db: Transactions[WalletUnit], keyring: Keyring, clock: Clock, vault: WalletVault,
                 keys: PaillierKeys, environments: EnvironmentService) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock
        self.vault = vault
        self.keys = keys
        self.environments = environments
        self._ring: ClientRing | None = None
        self._ring_lock = threading.Lock()

    # -- the stand-in's secrets ---------------------------------------------------------------------
    def use_ring(self, ring: ClientRing) -> None:
        """The stand-in's ring-Pedersen parameters (tests inject fixed ones; else made once per process)."""
        with self._ring_lock:
            self._ring = ring

    def standin_ring(self) -> ClientRing:
        with self._ring_lock:
            if self._ring is None:
                self._ring, _ = ClientRing.create()
            ring = self._ring
        self.keys.check_ring(ring)  # Πprm, once per parameters (cached)
        return ring

    def seal_standin(self, wallet_id: str, share: p2.ClientKeyShare) -> str:
        aad = standin_aad(wallet_id)
        nonce = secrets.token_bytes(12)
        inner = AESGCM(self.keyring.subkey(_STANDIN_PURPOSE)).encrypt(
            nonce, json.dumps(share.to_json()).encode(), aad.encode())
        return self.keyring.encrypt((b64u(nonce) + "." + b64u(inner)).encode(), aad=aad)

    def open_standin(self, wallet_id: str, blob: str) -> p2.ClientKeyShare:
        aad = standin_aad(wallet_id)
        nonce, inner = self.keyring.decrypt(blob, aad=aad).decode().split(".")
        plain = AESGCM(self.keyring.subkey(_STANDIN_PURPOSE)).decrypt(b64u_decode(nonce), b64u_decode(inner),
                                                                      aad.encode())
        return p2.ClientKeyShare.from_json(json.loads(plain))

    # -- 1. creation (operator) ---------------------------------------------------------------------
    def create(self, principal: AdminPrincipal, environment_id: str, identities: Sequence[Identity], *,
               chain: str = Chain.EVM.value, progress: Progress | None = None) -> list[PregeneratedResult]:
        """One wallet per identity (the existing one for an identity that has it; an identity named
        twice gets one wallet, answered twice). Key generation runs
        outside any transaction; each :data:`WRITE_CHUNK` wallets are stored in one short transaction."""
        principal.require(environment_id)
        if len(identities) > MAX_BATCH:
            raise PregeneratedBatchTooLargeError(f"At most {MAX_BATCH} identities per request")
        if chain != Chain.EVM.value:
            raise WalletChainUnsupportedError("Pregenerated wallets are EVM only for now")
        unique = list(dict.fromkeys(identities))
        with self.db.read() as uow:
            self.environments.get(uow, environment_id)  # 404 for an unknown environment
            found = self._existing(uow, environment_id, unique, chain)
        results: dict[Identity, PregeneratedResult] = {i: PregeneratedResult(i, found[i], False) for i in found}
        missing = [i for i in unique if i not in found]
        done = len(results)
        if progress:
            progress(done, len(unique))
        prepared: PreparedPaillier | None = self.keys.take() if missing else None
        for start in range(0, len(missing), WRITE_CHUNK):
            assert prepared is not None  # noqa: S101 - taken above when anything is missing
            batch = [self._generate(environment_id, i, prepared) for i in missing[start:start + WRITE_CHUNK]]
            results.update(self._store(environment_id, batch, chain))
            done += len(batch)
            if progress:
                progress(done, len(unique))
        return [results[i] for i in identities]  # one per identity asked, in order (repeats included)

    @staticmethod
    def _existing(uow: WalletUnit, environment_id: str, identities: Sequence[Identity],
                  chain: str) -> dict[Identity, PregeneratedRow]:
        out: dict[Identity, PregeneratedRow] = {}
        for kind in IdentityType:
            names = [i.identifier for i in identities if i.type is kind]
            if names:
                rows = uow.pregenerated.by_identities(environment_id, kind.value, names, chain)
                out.update({Identity(kind, name): row for name, row in rows.items()})
        return out

    def _generate(self, environment_id: str, identity: Identity, prepared: PreparedPaillier) -> _Generated:
        """The two-party key generation with the stand-in. The Paillier key is the request's: it only
        ever serves the stand-in pair (the wallet cannot sign before the claim's refresh, which moves
        the server to a key no other wallet had)."""
        wallet_id, ceremony_id = str(uuid.uuid4()), str(uuid.uuid4())
        sid = pregenerated_session_id(ceremony_id, environment_id, identity.label, wallet_id=wallet_id)
        result = standin_keygen(sid, prepared, self.standin_ring())
        return _Generated(identity, wallet_id, ceremony_id, result.address, point_to_hex(result.server.public_key),
                          self.vault.seal_share(wallet_id, result.server), self.seal_standin(wallet_id, result.standin),
                          result.server.paillier.n.bit_length())

    def _store(self, environment_id: str, batch: list[_Generated], chain: str) -> dict[Identity, PregeneratedResult]:
        out: dict[Identity, PregeneratedResult] = {}
        now = self.clock.now()
        with self.db.write() as uow:
            for g in batch:
                created = uow.pregenerated.add_unique(
                    id=g.wallet_id, environment_id=environment_id, identity_type=g.identity.type.value,
                    identifier=g.identity.identifier, chain=chain, address=g.address, public_key=g.public_key,
                    server_share=g.server_share, standin_share=g.standin_share, key_ceremony_id=g.ceremony_id,
                    user_id=None, created_at=now, attached_at=None, delivered_at=None, erased_at=None,
                )
                if created:
                    audit.record(uow, AuditIds(environment_id), AuditEvent.WALLET_PREGENERATED, now=now,
                                 outcome="ok", walletId=g.wallet_id, address=g.address, chain=chain,
                                 identityType=g.identity.type.value, modulusBits=g.modulus_bits)
                    user = self._user_of(uow, environment_id, g.identity)
                    if user is not None:  # the identity already signed in once: it is theirs now
                        self._attach_one(uow, environment_id, user, g.wallet_id, now)
                row = self._existing(uow, environment_id, [g.identity], chain)[g.identity]
                out[g.identity] = PregeneratedResult(g.identity, row, created)
        return out

    @staticmethod
    def _user_of(uow: WalletUnit, environment_id: str, identity: Identity) -> User | None:
        if identity.type is IdentityType.EMAIL:
            return uow.users.by_email(environment_id, identity.identifier)
        return uow.users.by_external_id(environment_id, identity.identifier)

    # -- 2. attached at sign-in ---------------------------------------------------------------------
    def attach(self, uow: CoreUnit, env: Environment, user: User) -> None:
        """The sign-in hook (:class:`actionmfa.services.signin.accounts.Accounts`), in the sign-in's
        transaction: the wallets waiting for this user's identity become theirs."""
        # The composition root hands every hook the one UnitOfWork, which offers every area's ports
        # (tests/contract/test_ports.py); the sign-in area only knows it as a CoreUnit.
        wallets_uow = cast(WalletUnit, uow)
        if user.external_id is not None:
            identity = Identity(IdentityType.EXTERNAL_USER_ID, user.external_id)
        elif user.email is not None:
            identity = Identity(IdentityType.EMAIL, user.email)
        else:
            return
        waiting = wallets_uow.pregenerated.waiting_for(env.id, identity.type.value, identity.identifier)
        now = self.clock.now()
        for row in waiting:
            self._attach_one(wallets_uow, env.id, user, row.id, now)

    @staticmethod
    def _attach_one(uow: WalletUnit, environment_id: str, user: User, wallet_id: str, now: datetime) -> None:
        row = uow.pregenerated.get(wallet_id, for_update=True)
        if row is None or row.user_id is not None or row.server_share is None:
            return
        uow.wallets.add_wallet(
            id=row.id, environment_id=environment_id, user_id=user.id, chain=row.chain, address=row.address,
            public_key=row.public_key, server_share=row.server_share, key_version=1, lock_reason=None,
            lock_count=0, created_at=row.created_at, updated_at=now, locked_at=None,
            key_ceremony_id=row.key_ceremony_id, custody=Custody.PREGENERATED.value,
        )
        if uow.pregenerated.attach(row.id, user_id=user.id, now=now):
            audit.record(uow, AuditIds(environment_id, user.id), AuditEvent.WALLET_PREGENERATED_ATTACHED, now=now,
                         outcome="ok", walletId=row.id, address=row.address, identityType=row.identity_type)

    # -- 3. delivery to the claiming user -------------------------------------------------------------
    def claim(self, ctx: AuthContext, wallet_id: str, *, recipient_public_key: str) -> dict[str, Any]:
        """``POST /waas/{walletId}/claim``: the stand-in share, HPKE-sealed to the caller's one-time key.
        Not gated (the refresh that must follow is); answered again to a retry until the refresh commits."""
        recipient = parse_recipient_key(recipient_public_key)
        now = self.clock.now()
        with self.db.write() as uow:
            wallet = self.vault.wallet(uow, ctx, wallet_id, for_update=True, pregenerated=True)
            row = uow.pregenerated.get(wallet.id) if wallet.custody is not None else None
            if row is None or row.standin_share is None or row.user_id != ctx.user.id:
                raise WalletAlreadyClaimedError()
            share = self.open_standin(wallet.id, row.standin_share)
            envelope = seal_standin(share, recipient, claim_info(wallet.id, ctx.user.id, wallet.key_version))
            uow.pregenerated.mark_delivered(wallet.id, now=now)
            audit.record(uow, ctx, AuditEvent.WALLET_CLAIMED, now=now, outcome="ok", walletId=wallet.id,
                         address=wallet.address, redelivery=row.delivered_at is not None)
        return {**envelope.to_json(), "walletId": wallet.id, "keyVersion": wallet.key_version,
                "keyCeremonyId": wallet.key_ceremony_id}
