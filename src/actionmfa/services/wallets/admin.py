"""Operator actions on embedded wallets: the delegation webhook secret and the delegate's
ring-Pedersen parameters, list and unlock locked wallets, finish a key rotation.

Used by the admin API (``POST …/waas/delegatedAccess/secret``) and ``actionmfa wallet …``
(:mod:`actionmfa.wallet_cli`). Read docs/wallet-security.md §6 before unlocking a wallet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.domain.records import WalletRow
from actionmfa.domain.wallets import Chain, PendingAction
from actionmfa.errors import DelegatedAccessDisabledError, NotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.services.core.ports import Transactions
from actionmfa.services.wallets.delivery import create_delegation_secret
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.ports import WalletUnit
from actionmfa.services.wallets.pregenerated import standin_aad
from actionmfa.services.wallets.vault import (
    WalletVault,
    delegate_share_aad,
    delegation_secret_aad,
    share_aad,
    state_aad,
)
from actionmfa.wallet.keyproofs import ClientRing

__all__ = ["DelegationMarks", "DelegationSummary", "WalletAdmin", "locked_wallets", "rotate_wallet_secrets",
           "unlock_wallet"]


def unlock_wallet(uow: WalletUnit, now: datetime, environment_id: str, wallet_id: str, *, operator: str,
                  note: str = "") -> bool:
    """Clear a wallet's signing lock (audited). False if it was not locked. No key pool needed."""
    wallet = uow.wallets.wallet_by_id(environment_id, wallet_id)
    if wallet is None:
        raise NotFoundError("Wallet not found")
    changed = uow.wallets.unlock(wallet_id, now=now)
    if changed:
        audit.record(uow, AuditIds(environment_id, wallet.user_id), AuditEvent.WALLET_UNLOCKED, now=now,
                     outcome="ok", walletId=wallet_id, operator=operator, note=note[:200],
                     lockReason=wallet.lock_reason, lockCount=wallet.lock_count)
    return changed


def rotate_wallet_secrets(uow: WalletUnit, keyring: Keyring) -> int:
    """Re-encrypt every server share (also the delegate-pair ones), live ceremony state and delegation
    webhook secret under the keyring's active key.

    For ``actionmfa keys rotate``: old keys stay readable, so this only finishes a rotation.
    """
    repo = uow.wallets
    count = 0
    for wallet_id, blob in repo.sealed_shares():
        if keyring.needs_rotation(blob):
            repo.set_sealed_share(wallet_id, keyring.reencrypt(blob, aad=share_aad(wallet_id)))
            count += 1
    for ceremony_id, blob in repo.sealed_states():
        if blob and keyring.needs_rotation(blob):
            repo.set_sealed_state(ceremony_id, keyring.reencrypt(blob, aad=state_aad(ceremony_id)))
            count += 1
    for wallet_id, blob in repo.sealed_delegate_shares():
        if keyring.needs_rotation(blob):
            repo.set_sealed_delegate_share(wallet_id, keyring.reencrypt(blob, aad=delegate_share_aad(wallet_id)))
            count += 1
    for environment_id, blob in repo.sealed_delegation_secrets():
        if keyring.needs_rotation(blob):
            aad = delegation_secret_aad(environment_id)
            repo.set_sealed_delegation_secret(environment_id, keyring.reencrypt(blob, aad=aad))
            count += 1
    waiting = uow.pregenerated  # pregenerated wallets: server shares not attached yet, stand-in shares
    for wallet_id, blob in waiting.sealed_waiting_shares():
        if keyring.needs_rotation(blob):
            waiting.set_sealed_waiting_share(wallet_id, keyring.reencrypt(blob, aad=share_aad(wallet_id)))
            count += 1
    for wallet_id, blob in waiting.sealed_standins():
        if keyring.needs_rotation(blob):
            waiting.set_sealed_standin(wallet_id, keyring.reencrypt(blob, aad=standin_aad(wallet_id)))
            count += 1
    return count


def locked_wallets(uow: WalletUnit, environment_id: str | None = None) -> list[WalletRow]:
    """Every wallet locked for signing (optionally of one environment), for the operator."""
    return uow.wallets.locked(environment_id)


@dataclass(frozen=True)
class DelegationMarks:
    """An operator's delegation decision: the wallets marked, and the approvals a revocation withdrew."""

    marked: list[str]
    withdrawn: list[str]


@dataclass(frozen=True)
class DelegationSummary:
    """An environment's wallets by scheme and pending delegation decision."""

    enabled: bool  # security.delegatedAccess.enabled
    two_of_two: int
    two_of_three: int
    pending_approval: int
    pending_revocation: int


class WalletAdmin:
    """The same operator actions as use cases, each in its own transaction."""

    def __init__(
        self, db: Transactions[WalletUnit], clock: Clock, vault: WalletVault, environments: EnvironmentService,
        keys: PaillierKeys,
    ) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault
        self.environments = environments
        self.keys = keys

    def register_delegate_ring(self, principal: AdminPrincipal, environment_id: str, ring: ClientRing) -> str:
        """Keep the developer's ring-Pedersen parameters ``(N̂, ŝ, t̂)`` once their Πprm (CGGMP21 §C.2)
        verifies: every later delegate pair set-up proves its N (Πfac) and ckey (Πlog*) against them.
        Πprm protects the server — it makes the commitments in those proofs hiding, so the delegate
        cannot read the server's pair share out of them. Returns the parameters' digest (hex)."""
        principal.require(environment_id)
        with self.db.read() as uow:  # an unknown environment is refused before the 128-round check
            self.environments.get(uow, environment_id)
        self.keys.check_ring(ring)  # outside any transaction; raises WalletProofInvalidError
        digest = ring.digest().hex()
        now = self.clock.now()
        with self.db.write() as uow:
            self.environments.get(uow, environment_id)
            uow.wallets.set_delegate_ring(environment_id, json.dumps(ring.params.to_json()), digest, now=now)
            audit.record(uow, AuditIds(environment_id), AuditEvent.WALLET_DELEGATE_RING_REGISTERED, now=now,
                         outcome="ok", digest=digest)
        return digest

    def new_delegation_secret(self, principal: AdminPrincipal, environment_id: str) -> str:
        """A new HMAC-SHA256 key for ``wallet.delegation.*`` webhooks; the old one stops working."""
        principal.require(environment_id)
        with self.db.write() as uow:
            self.environments.get(uow, environment_id)
            return create_delegation_secret(uow, self.vault, environment_id, now=self.clock.now())

    def mark_delegation(self, principal: AdminPrincipal, environment_id: str, action: PendingAction, *,
                        user_id: str | None = None) -> DelegationMarks:
        """Approve delegation for (or revoke it from) one user's wallets or every wallet of the
        environment — the answer to a leaked developer key is ``revoke`` without ``user_id``. The
        user's SDK completes it with a gated reshare at the next sign-in (``complete_pending``).
        Marks the 2-of-2 wallets for an approval, the 2-of-3 ones for a revocation.

        A revocation also **withdraws** approvals not yet completed (the same user's, or every one of
        the environment): else a 2-of-2 wallet approved before the key leaked would still reshare to
        2-of-3 at its user's next sign-in and hand a fresh share to the developer key being revoked.
        Each mark and each withdrawal is audited (``wallet.delegation_pending``,
        ``wallet.delegation_withdrawn``)."""
        principal.require(environment_id)
        approve = action is PendingAction.APPROVE_DELEGATION
        now = self.clock.now()
        with self.db.write() as uow:
            environment = self.environments.get(uow, environment_id)
            if approve and not environment.settings.security.delegatedAccess.enabled:
                raise DelegatedAccessDisabledError()
            # A revocation first ends the reshares open in its scope (wallet rows locked): one opened
            # before it — an approval being completed, the user's own delegation, the refresh of a
            # delegated wallet — would otherwise confirm after it and hand the revoked key a fresh share.
            ended = [] if approve else uow.wallets.withdraw_reshares(environment_id, user_id=user_id, now=now)
            # Only EVM wallets reshare (Solana's: wallet_chain_unsupported), so only they are approved:
            # a mark nobody can complete would stay pending for ever.
            ids = uow.wallets.set_pending_action(environment_id, action=action.value,
                                                 scheme="TWO_OF_TWO" if approve else "TWO_OF_THREE",
                                                 user_id=user_id, now=now,
                                                 chain=Chain.EVM.value if approve else None)
            withdrawn = [] if approve else uow.wallets.set_pending_action(
                environment_id, action=None, scheme="TWO_OF_TWO", user_id=user_id, now=now,
                only_pending=PendingAction.APPROVE_DELEGATION.value)
            scope = "user" if user_id is not None else "environment"
            for ceremony_id, wallet_id in ended:
                row = uow.wallets.wallet_by_id(environment_id, wallet_id)
                audit.record(uow, AuditIds(environment_id, row.user_id if row else None),
                             AuditEvent.WALLET_DELEGATION_WITHDRAWN, now=now, outcome="ok", walletId=wallet_id,
                             ceremonyId=ceremony_id, pendingAction=None, scope=scope)
            for event, pending, wallet_ids in ((AuditEvent.WALLET_DELEGATION_PENDING, action.value, ids),
                                               (AuditEvent.WALLET_DELEGATION_WITHDRAWN, None, withdrawn)):
                for wallet_id in wallet_ids:
                    row = uow.wallets.wallet_by_id(environment_id, wallet_id)
                    audit.record(uow, AuditIds(environment_id, row.user_id if row else None), event, now=now,
                                 outcome="ok", walletId=wallet_id, pendingAction=pending, scope=scope)
        stopped = [w for _, w in ended if w not in withdrawn and w not in ids]  # their reshare ended
        return DelegationMarks(ids, withdrawn + list(dict.fromkeys(stopped)))

    def delegation_summary(self, principal: AdminPrincipal, environment_id: str) -> DelegationSummary:
        """What an environment-wide approval or revocation would touch (the dashboard's confirmation)."""
        principal.require(environment_id)
        with self.db.read() as uow:
            environment = self.environments.get(uow, environment_id)
            counts = uow.wallets.delegation_counts(environment_id)
        def count(scheme: str, pending: str | None = None) -> int:
            return sum(n for (s, p), n in counts.items() if s == scheme and (pending is None or p == pending))

        return DelegationSummary(
            enabled=environment.settings.security.delegatedAccess.enabled,
            two_of_two=count("TWO_OF_TWO"), two_of_three=count("TWO_OF_THREE"),
            pending_approval=count("TWO_OF_TWO", PendingAction.APPROVE_DELEGATION.value),
            pending_revocation=count("TWO_OF_THREE", PendingAction.REVOKE_DELEGATION.value))

    def locked(self, environment_id: str | None = None) -> list[WalletRow]:
        with self.db.read() as uow:
            return locked_wallets(uow, environment_id)

    def unlock(self, environment_id: str, wallet_id: str, *, operator: str, note: str = "") -> bool:
        with self.db.write() as uow:
            return unlock_wallet(uow, self.clock.now(), environment_id, wallet_id, operator=operator, note=note)
