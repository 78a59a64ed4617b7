"""The wallet vault: sealing the server party's secrets, finding wallets and live ceremonies.

Every secret of the server party (P1 of :mod:`actionmfa.wallet.ecdsa2p`) is a Keyring blob whose
AAD names its row, so a blob copied to another row does not open:

* ``waas_wallets.server_share``      ``waas-wallet:<wallet id>``       x1, the Paillier key, Q
* ``waas_wallets.delegate_share``    ``waas-delegate:<wallet id>``     the share of the pair {server, delegate}
* ``waas_ceremonies.state``          ``waas-ceremony:<ceremony id>``   a ceremony's secret round state
* ``waas_delegation_secrets.secret`` ``waas-delegation-secret:<env>``  the webhook HMAC key

Ceremonies are rows whose ``stage`` (:class:`actionmfa.domain.wallets.Stage`) only moves forward by
one conditional UPDATE, bound to session and kind, expiring :data:`CEREMONY_TTL_SECONDS` after opening.
Every use case of the area (keygen, signing, refresh, export, reshare, delegated signing, the
operator's) goes through this one object for these steps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from actionmfa.crypto import Keyring
from actionmfa.domain.models import AuthContext
from actionmfa.domain.records import CeremonyRow, WalletRow
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Chain, LockReason, Stage
from actionmfa.errors import (
    CeremonyInvalidError,
    CeremonyLimitError,
    NotFoundError,
    WalletChainUnsupportedError,
    WalletClaimRequiredError,
)
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.views import WalletView
from actionmfa.wallet import ecdsa2p as p2

CEREMONY_TTL_SECONDS = 60
PURGE_AFTER_SECONDS = 3600  # expired ceremony rows (sealed round state) are deleted an hour later
# Open (unfinished, unexpired) ceremonies of every kind, counted exactly in the opening transaction
# (issue 11.2): a user or a tenant cannot pile up ceremony rows and sealed state faster than they expire.
MAX_OPEN_CEREMONIES_PER_USER = 16
MAX_OPEN_CEREMONIES_PER_ENVIRONMENT = 1000


def share_aad(wallet_id: str) -> str:
    return f"waas-wallet:{wallet_id}"


def state_aad(ceremony_id: str) -> str:
    return f"waas-ceremony:{ceremony_id}"


def delegate_share_aad(wallet_id: str) -> str:
    return f"waas-delegate:{wallet_id}"


def delegation_secret_aad(environment_id: str) -> str:
    return f"waas-delegation-secret:{environment_id}"


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class WalletVault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    # -- sealing ---------------------------------------------------------------------------------
    def seal_share(self, wallet_id: str, share: p2.ServerKeyShare) -> str:
        return self.keyring.encrypt(_compact(share.to_json()), aad=share_aad(wallet_id))

    def open_share(self, row: WalletRow) -> p2.ServerKeyShare:
        data = json.loads(self.keyring.decrypt(row.server_share, aad=share_aad(row.id)))
        return p2.ServerKeyShare.from_json(data)

    def seal_pair_share(self, wallet_id: str, share: p2.ServerKeyShare) -> str:
        return self.keyring.encrypt(json.dumps(share.to_json()).encode(), aad=delegate_share_aad(wallet_id))

    def open_pair_share(self, row: WalletRow) -> p2.ServerKeyShare:
        assert row.delegate_share is not None  # noqa: S101 - the caller checked the wallet is delegated
        data = json.loads(self.keyring.decrypt(row.delegate_share, aad=delegate_share_aad(row.id)))
        return p2.ServerKeyShare.from_json(data)

    def seal_state(self, ceremony_id: str, state: dict[str, Any]) -> str:
        return self.keyring.encrypt(_compact(state), aad=state_aad(ceremony_id))

    def open_state(self, row: CeremonyRow) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.keyring.decrypt(row.state, aad=state_aad(row.id)))
        return data

    def seal_delegation_secret(self, environment_id: str, secret: str) -> str:
        return self.keyring.encrypt(secret.encode(), aad=delegation_secret_aad(environment_id))

    def open_delegation_secret(self, environment_id: str, blob: str) -> bytes:
        return self.keyring.decrypt(blob, aad=delegation_secret_aad(environment_id))

    # -- lookups ---------------------------------------------------------------------------------
    def wallet(self, uow: WalletUnit, ctx: AuthContext, wallet_id: str, *, for_update: bool = False,
               chain: Chain = Chain.EVM, pregenerated: bool = False) -> WalletRow:
        """The caller's own wallet (404 ``not_found`` otherwise) of ``chain`` (422
        ``wallet_chain_unsupported`` for another chain's: its share is another protocol's);
        ``for_update`` takes its row lock. A pregenerated wallet not claimed yet is refused (409
        ``wallet_claim_required``: the operator still holds the stand-in share) unless the caller is
        the claim itself (``pregenerated=True``: the delivery and the refresh that ends custody)."""
        row = uow.wallets.wallet(ctx.environment.id, ctx.user.id, wallet_id, for_update=for_update)
        if row is None:
            raise NotFoundError("Wallet not found")
        if row.chain is not chain:
            raise WalletChainUnsupportedError(f"This is a {row.chain.value} wallet; the request is for {chain.value}")
        if row.custody is not None and not pregenerated:
            raise WalletClaimRequiredError()
        return row

    def live_ceremony(
        self, uow: WalletUnit, ctx: AuthContext, ceremony_id: str, kind: CeremonyKind, stage: Stage, now: datetime
    ) -> CeremonyRow:
        """The caller's ceremony of ``kind``, waiting at ``stage`` and not expired; else 422 ``ceremony_invalid``."""
        row = uow.wallets.ceremony(ceremony_id, environment_id=ctx.environment.id, session_id=ctx.session.id,
                                   kind=kind)
        if row is None or row.user_id != ctx.user.id:
            raise CeremonyInvalidError()
        if row.outcome is CeremonyOutcome.WITHDRAWN:
            raise CeremonyInvalidError("The operator revoked delegated access while this reshare was open")
        if row.outcome is not None or row.stage != stage:
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        if row.expires_at <= now:
            raise CeremonyInvalidError("Ceremony expired")
        return row

    # -- replay of a finished key generation (issue 9.6) ------------------------------------------
    @staticmethod
    def keygen_replay_state(message: dict[str, Any], opening: dict[str, Any]) -> dict[str, Any]:
        """What a finished keygen keeps (sealed, until the row is purged): the digest of the client's
        final message and the server's opening — no secret of the server party."""
        return {"messageDigest": hashlib.sha256(_canonical(message)).hexdigest(), "opening": opening}

    def replay_keygen(self, uow: WalletUnit, ctx: AuthContext, ceremony_id: str,
                      message: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a keygen this user already finished with this very message, else None
        (then the round runs, and refuses a finished ceremony)."""
        row = uow.wallets.finished_ceremony(ceremony_id, environment_id=ctx.environment.id, user_id=ctx.user.id,
                                            kind=CeremonyKind.KEYGEN)
        if row is None or row.wallet_id is None or not row.state:
            return None
        data = self.open_state(row)
        digest = hashlib.sha256(_canonical(message)).hexdigest()
        if not hmac.compare_digest(str(data.get("messageDigest", "")), digest):
            raise CeremonyInvalidError("Ceremony round already used or out of order")
        wallet = uow.wallets.wallet(ctx.environment.id, ctx.user.id, row.wallet_id)
        if wallet is None:
            raise CeremonyInvalidError()
        return {"wallet": WalletView.of(wallet).to_json(), "message": data["opening"]}

    # -- ceremony rows ---------------------------------------------------------------------------
    def open_ceremony(
        self,
        uow: WalletUnit,
        *,
        ceremony_id: str,
        environment_id: str,
        user_id: str,
        session_id: str | None,
        wallet_id: str | None,
        kind: CeremonyKind,
        state: dict[str, Any],
        now: datetime,
        payload_kind: str | None = None,
        digest: str | None = None,
        purge: bool = False,
    ) -> datetime:
        """Store a new ceremony at :attr:`Stage.OPENED` with its sealed state; returns its expiry.
        With ``purge`` (the frequent ceremonies: keygen, signing) rows that expired an hour ago go."""
        expires = now + timedelta(seconds=CEREMONY_TTL_SECONDS)
        if purge:
            uow.wallets.purge_expired(before=now - timedelta(seconds=PURGE_AFTER_SECONDS))
        # The user's cap is exact (a lock per user); the environment's is a ceiling that concurrent
        # openings may pass by a few (one lock per environment would serialise all its signing).
        uow.wallets.serialize(f"ceremonies:{user_id}")
        if uow.wallets.open_ceremonies(now, environment_id=environment_id) >= MAX_OPEN_CEREMONIES_PER_ENVIRONMENT:
            raise CeremonyLimitError("Too many wallet ceremonies in progress in this environment; retry shortly")
        if uow.wallets.open_ceremonies(now, user_id=user_id) >= MAX_OPEN_CEREMONIES_PER_USER:
            raise CeremonyLimitError()
        uow.wallets.add_ceremony(
            id=ceremony_id, environment_id=environment_id, user_id=user_id, session_id=session_id,
            wallet_id=wallet_id, kind=kind.value, payload_kind=payload_kind, digest=digest,
            stage=Stage.OPENED.value, state=self.seal_state(ceremony_id, state), outcome=None,
            created_at=now, expires_at=expires, completed_at=None,
        )
        return expires

    def advance(self, uow: WalletUnit, ceremony_id: str, from_stage: Stage, to_stage: Stage, now: datetime, *,
                state: dict[str, Any] | None = None, **done: Any) -> None:
        """Move the ceremony on (``state`` sealed anew, or erased when None); a second caller of the
        same round loses the conditional UPDATE and gets ``ceremony_invalid``."""
        sealed = self.seal_state(ceremony_id, state) if state is not None else ""
        if not uow.wallets.advance(ceremony_id, from_stage=from_stage, to_stage=to_stage, now=now, state=sealed,
                                   **done):
            raise CeremonyInvalidError()

    def finish(self, uow: WalletUnit, ceremony_id: str, from_stage: Stage, now: datetime, **extra: Any) -> None:
        """Close the ceremony as done (state erased, outcome ``ok``)."""
        self.advance(uow, ceremony_id, from_stage, Stage.DONE, now, outcome=CeremonyOutcome.OK, **extra)

    @staticmethod
    def lock_after_invalid_signature(uow: WalletUnit, wallet_id: str, ceremony_id: str, now: datetime) -> None:
        """Lindell'17 abort attack (CVE-2023-33242): whether P1 aborts leaks about x1, so after one
        invalid signature the key never signs again until an operator unlocks it."""
        uow.wallets.lock(wallet_id, reason=LockReason.INVALID_SIGNATURE, now=now)
        uow.wallets.fail(ceremony_id, outcome=CeremonyOutcome.INVALID_SIGNATURE, now=now)
