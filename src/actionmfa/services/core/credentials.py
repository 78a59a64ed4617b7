"""A user's verified credentials (Dynamic's ``SdkUser.verifiedCredentials``), read in one transaction.

What the list holds and why is :mod:`actionmfa.domain.credentials`; this service only collects the
records: the verified TOTP devices, the passkeys and the embedded wallets of the user.
"""

from __future__ import annotations

from typing import Protocol

from actionmfa.domain.credentials import CredentialFormat, MethodRecord, VerifiedCredential, WalletRecord
from actionmfa.domain.credentials import verified_credentials as build
from actionmfa.domain.models import User
from actionmfa.domain.records import DeviceRow, PasskeyRow, WalletRow
from actionmfa.services.core.ports import CoreUnit, DeviceCounts, PasskeyCounts, Transactions


class DeviceList(DeviceCounts, Protocol):
    def devices(self, user_id: str) -> list[DeviceRow]: ...


class PasskeyList(PasskeyCounts, Protocol):
    def for_user(self, user_id: str) -> list[PasskeyRow]: ...


class WalletList(Protocol):
    def wallets_of(self, environment_id: str, user_id: str) -> list[WalletRow]: ...


class CredentialsUnit(CoreUnit, Protocol):
    @property
    def mfa(self) -> DeviceList: ...

    @property
    def passkeys(self) -> PasskeyList: ...

    @property
    def wallets(self) -> WalletList: ...


class Credentials:
    def __init__(self, db: Transactions[CredentialsUnit]) -> None:
        self.db = db

    def of(self, user: User) -> list[VerifiedCredential]:
        with self.db.read() as uow:
            devices = [d for d in uow.mfa.devices(user.id) if d.verified]
            passkeys = uow.passkeys.for_user(user.id)
            wallets = uow.wallets.wallets_of(user.environment_id, user.id)
        methods = [MethodRecord(d.id, CredentialFormat.TOTP, d.verified_at, d.alias) for d in devices]
        methods += [MethodRecord(p.id, CredentialFormat.PASSKEY, p.created_at, p.alias) for p in passkeys]
        return build(
            user,
            methods=sorted(methods, key=lambda m: m.verified_at or user.created_at),
            wallets=[WalletRecord(w.id, w.address, w.chain.value, w.created_at) for w in wallets],
        )
