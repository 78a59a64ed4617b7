"""Operator actions on embedded wallets: list and unlock locked wallets, finish a key rotation.

Used by ``actionmfa wallet …`` (:mod:`actionmfa.wallet_cli`). Read docs/wallet-security.md §6 before
unlocking a wallet.
"""

from __future__ import annotations

from datetime import datetime

from actionmfa.crypto import Keyring
from actionmfa.errors import NotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditIds
from actionmfa.services.wallets.service import WalletAuditEvent
from actionmfa.store.repos.wallets import WalletRepo, WalletRow
from actionmfa.store.uow import UnitOfWork

__all__ = ["locked_wallets", "rotate_wallet_secrets", "unlock_wallet"]


def unlock_wallet(uow: UnitOfWork, now: datetime, environment_id: str, wallet_id: str, *, operator: str,
                  note: str = "") -> bool:
    """Clear a wallet's signing lock (audited). False if it was not locked. No key pool needed."""
    repo = WalletRepo(uow.conn)
    wallet = repo.wallet_by_id(environment_id, wallet_id)
    if wallet is None:
        raise NotFoundError("Wallet not found")
    changed = repo.unlock(wallet_id, now=now)
    if changed:
        audit.record(uow, AuditIds(environment_id, wallet.user_id), WalletAuditEvent.UNLOCKED, now=now,
                     outcome="ok", walletId=wallet_id, operator=operator, note=note[:200],
                     lockReason=wallet.lock_reason, lockCount=wallet.lock_count)
    return changed


def rotate_wallet_secrets(uow: UnitOfWork, keyring: Keyring) -> int:
    """Re-encrypt every server share (also the delegate-pair ones), live ceremony state and delegation
    webhook secret under the keyring's active key.

    For ``actionmfa keys rotate``: old keys stay readable, so this only finishes a rotation.
    """
    repo = WalletRepo(uow.conn)
    count = 0
    for wallet_id, blob in repo.sealed_shares():
        if keyring.needs_rotation(blob):
            repo.set_sealed_share(wallet_id, keyring.reencrypt(blob, aad=f"waas-wallet:{wallet_id}"))
            count += 1
    for ceremony_id, blob in repo.sealed_states():
        if blob and keyring.needs_rotation(blob):
            repo.set_sealed_state(ceremony_id, keyring.reencrypt(blob, aad=f"waas-ceremony:{ceremony_id}"))
            count += 1
    for wallet_id, blob in repo.sealed_delegate_shares():
        if keyring.needs_rotation(blob):
            repo.set_sealed_delegate_share(wallet_id, keyring.reencrypt(blob, aad=f"waas-delegate:{wallet_id}"))
            count += 1
    for environment_id, blob in repo.sealed_delegation_secrets():
        if keyring.needs_rotation(blob):
            aad = f"waas-delegation-secret:{environment_id}"
            repo.set_sealed_delegation_secret(environment_id, keyring.reencrypt(blob, aad=aad))
            count += 1
    return count


def locked_wallets(uow: UnitOfWork, environment_id: str | None = None) -> list[WalletRow]:
    """Every wallet locked for signing (optionally of one environment), for the operator."""
    return WalletRepo(uow.conn).locked(environment_id)
