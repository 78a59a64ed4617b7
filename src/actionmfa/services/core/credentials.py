"""A user's verified credentials (Dynamic's ``SdkUser.verifiedCredentials``), read in one transaction.

What the list holds and why is :mod:`actionmfa.domain.credentials`; this service only collects the
records: the verified TOTP devices, the passkeys and the embedded wallets of the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from actionmfa.domain.credentials import CredentialFormat, MethodRecord, VerifiedCredential, WalletRecord
from actionmfa.domain.credentials import verified_credentials as build
from actionmfa.domain.models import User
from actionmfa.services.core.ports import CoreUnit, Transactions


class CredentialRecords(Protocol):
    """The three kinds of records in one read (``part``: 0 TOTP device, 1 passkey, 2 wallet)."""

    def of_user(self, environment_id: str, user_id: str) -> Sequence[CredentialRecord]: ...


class CredentialRecord(Protocol):
    @property
    def part(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def at(self) -> datetime | None: ...
    @property
    def alias(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def chain(self) -> str | None: ...
    @property
    def scheme(self) -> str | None: ...
    @property
    def pending_action(self) -> str | None: ...
    @property
    def custody(self) -> str | None: ...


class CredentialsUnit(CoreUnit, Protocol):
    @property
    def credentials(self) -> CredentialRecords: ...


_FORMATS = {0: CredentialFormat.TOTP, 1: CredentialFormat.PASSKEY}


class Credentials:
    def __init__(self, db: Transactions[CredentialsUnit]) -> None:
        self.db = db

    def of(self, user: User) -> list[VerifiedCredential]:
        with self.db.read() as uow:  # one statement: verified devices, passkeys, wallets
            return self.in_unit(uow, user)

    @staticmethod
    def in_unit(uow: CredentialsUnit, user: User) -> list[VerifiedCredential]:
        """The same list read in a transaction already open (an MFA authentication's own: issue 15,
        one transaction fewer per authentication)."""
        rows = uow.credentials.of_user(user.environment_id, user.id)
        methods = [MethodRecord(r.id, _FORMATS[r.part], r.at, r.alias) for r in rows if r.part in _FORMATS]
        wallets = [
            WalletRecord(r.id, r.address or "", r.chain or "", r.at or user.created_at, r.scheme or "TWO_OF_TWO",
                         r.pending_action, pregenerated=r.custody is not None)
            for r in rows if r.part == 2
        ]
        return build(user, methods=sorted(methods, key=lambda m: m.verified_at or user.created_at), wallets=wallets)
