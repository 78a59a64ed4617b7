"""What the wallet area needs from storage (see :mod:`actionmfa.services.core.ports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from actionmfa.domain.records import CeremonyRow, WalletRow
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, LockReason, Stage
from actionmfa.services.core.ports import CoreUnit


@runtime_checkable
class WalletStore(Protocol):
    """Wallets (the server party's sealed share), open ceremonies, delegation webhook secrets."""

    def add_wallet(self, **values: Any) -> None: ...

    def wallet(
        self, environment_id: str, user_id: str, wallet_id: str, *, for_update: bool = False
    ) -> WalletRow | None: ...

    def wallet_by_id(self, environment_id: str, wallet_id: str) -> WalletRow | None: ...

    def wallets_of(self, environment_id: str, user_id: str) -> list[WalletRow]: ...

    def locked(self, environment_id: str | None = None) -> list[WalletRow]: ...

    def lock(self, wallet_id: str, *, reason: LockReason, now: datetime) -> None: ...

    def unlock(self, wallet_id: str, *, now: datetime) -> bool: ...

    def record_signature(self, wallet_id: str, *, now: datetime) -> None: ...

    def replace_share(self, wallet_id: str, *, server_share: str, key_version: int, now: datetime,
                      key_ceremony_id: str | None = None) -> None: ...

    def reshare(
        self,
        wallet_id: str,
        *,
        server_share: str,
        key_version: int,
        scheme: str,
        delegate_public_share: str | None,
        delegate_share: str | None,
        delegate_api_key_hash: str | None,
        now: datetime,
        key_ceremony_id: str | None = None,
    ) -> None: ...

    def delegated_ceremony(self, ceremony_id: str, *, wallet_id: str, kind: CeremonyKind) -> CeremonyRow | None: ...

    def withdraw_reshares(self, environment_id: str, *, user_id: str | None = None,
                          now: datetime) -> list[tuple[str, str]]: ...

    def delegation_secret(self, environment_id: str) -> str | None: ...

    def set_delegation_secret(self, environment_id: str, blob: str, *, now: datetime,
                              previous_until: datetime | None = None) -> None: ...

    def sealed_delegation_secrets(self) -> list[tuple[str, str]]: ...

    def delegate_ring(self, environment_id: str) -> str | None: ...

    def set_delegate_ring(self, environment_id: str, params: str, digest: str, *, now: datetime) -> None: ...

    def set_sealed_delegation_secret(self, environment_id: str, blob: str) -> None: ...

    def sealed_delegate_shares(self) -> list[tuple[str, str]]: ...

    def set_sealed_delegate_share(self, wallet_id: str, blob: str) -> None: ...

    def sealed_shares(self) -> list[tuple[str, str]]: ...

    def set_sealed_share(self, wallet_id: str, blob: str) -> None: ...

    def sealed_states(self) -> list[tuple[str, str]]: ...

    def set_sealed_state(self, ceremony_id: str, blob: str) -> None: ...

    def add_ceremony(self, **values: Any) -> None: ...

    def ceremony(
        self, ceremony_id: str, *, environment_id: str, session_id: str, kind: CeremonyKind
    ) -> CeremonyRow | None: ...

    def advance(
        self,
        ceremony_id: str,
        *,
        from_stage: Stage,
        to_stage: Stage,
        now: datetime,
        state: str | None = None,
        outcome: CeremonyOutcome | None = None,
        wallet_id: str | None = None,
    ) -> bool: ...

    def fail(self, ceremony_id: str, *, outcome: CeremonyOutcome, now: datetime) -> None: ...

    def set_pending_action(self, environment_id: str, *, action: str | None, scheme: str,
                           user_id: str | None = None, wallet_id: str | None = None, now: datetime,
                           only_pending: str | None = None) -> list[str]: ...

    def delegation_counts(self, environment_id: str) -> dict[tuple[str, str | None], int]: ...

    def finished_ceremony(self, ceremony_id: str, *, environment_id: str, user_id: str,
                          kind: CeremonyKind) -> CeremonyRow | None: ...

    def open_keygens(self, user_id: str, now: datetime) -> int: ...

    def unfinished_keygens_since(self, user_id: str, since: datetime) -> int: ...

    def open_ceremonies(self, now: datetime, *, environment_id: str | None = None, user_id: str | None = None) -> int:
        ...

    def serialize(self, key: str) -> None: ...

    def purge_expired(self, *, before: datetime) -> int: ...


class WalletUnit(CoreUnit, Protocol):
    @property
    def wallets(self) -> WalletStore: ...
