"""What the operator side needs from storage (see :mod:`actionmfa.services.core.ports`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol, runtime_checkable

from actionmfa.domain.audit_chain import ChainedRow
from actionmfa.services.mfa.ports import MfaStore, PasskeyReads
from actionmfa.services.wallets.ports import WalletUnit


@runtime_checkable
class MfaAdminStore(MfaStore, Protocol):
    """The MFA core's rows as the operator touches them: reset a user, re-encrypt secrets."""

    def reset_user(self, user_id: str) -> None: ...

    def all_secrets(self) -> list[tuple[str, str]]: ...

    def set_secret(self, device_id: str, secret_enc: str) -> None: ...

    def pending_copies(self) -> list[tuple[str, str]]: ...


@runtime_checkable
class PasskeyAdminStore(PasskeyReads, Protocol):
    def delete_for_user(self, user_id: str) -> int: ...


class OperatorUnit(WalletUnit, Protocol):
    @property
    def mfa(self) -> MfaAdminStore: ...

    @property
    def passkeys(self) -> PasskeyAdminStore: ...


@runtime_checkable
class AuditChainReads(Protocol):
    """The audit log's hash chains as ``audit verify`` reads them (``""``: rows without an environment)."""

    def chains(self) -> list[str]: ...

    def heads(self, chain: str) -> dict[int, tuple[int, str]]: ...

    def chained_rows(self, chain: str) -> Iterator[ChainedRow]: ...


class AuditChainUnit(Protocol):
    @property
    def audit(self) -> AuditChainReads: ...


class OpsCounts(Protocol):
    def open_ceremonies(self, now: datetime) -> int: ...

    def webhook_backlog(self) -> int: ...


class OpsUnit(Protocol):
    @property
    def ops(self) -> OpsCounts: ...
