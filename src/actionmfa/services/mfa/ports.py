"""What the MFA core needs from storage (see :mod:`actionmfa.services.core.ports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.records import DeviceRow, MfaUserState, PasskeyRow
from actionmfa.services.core.credentials import CredentialRecords
from actionmfa.services.core.ports import CoreUnit, DeviceCounts, PasskeyCounts


@runtime_checkable
class LockoutStore(Protocol):
    """Per-user code-attempt state: the failure counter and the lockout (DESIGN §8)."""

    def lock_user_state(self, user_id: str) -> MfaUserState: ...

    def state(self, user_id: str) -> MfaUserState | None: ...

    def set_locked_until(self, user_id: str, until: datetime | None) -> None: ...

    def clear_held_lockout(self, user_id: str) -> None: ...

    def add_failure(self, user_id: str, route: str, now: datetime) -> None: ...

    def count_failures_since(self, user_id: str, since: datetime) -> int: ...

    def clear_failures(self, user_id: str) -> None: ...


@runtime_checkable
class MfaStore(LockoutStore, DeviceCounts, Protocol):
    """TOTP devices, recovery codes and the pending-codes copy."""

    def devices(self, user_id: str) -> list[DeviceRow]: ...

    def device(self, user_id: str, device_id: str) -> DeviceRow | None: ...

    def add_device(
        self, *, id: str, user_id: str, type: MFADeviceType, secret_enc: str | None, now: datetime
    ) -> None: ...

    def delete_pending(self, user_id: str, type: MFADeviceType) -> None: ...

    def mark_verified(self, device_id: str, *, step: int, make_default: bool, now: datetime) -> bool: ...

    def advance_step(self, device_id: str, step: int) -> bool: ...

    def set_default(self, user_id: str, device_id: str) -> None: ...

    def delete_device(self, device_id: str) -> None: ...

    def replace_recovery_codes(self, user_id: str, rows: list[dict[str, Any]]) -> None: ...

    def has_recovery_codes(self, user_id: str) -> bool: ...

    def unused_recovery_hashes(self, user_id: str) -> list[str]: ...

    def spend_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool: ...

    def set_pending_codes(self, user_id: str, sealed: str | None) -> None: ...


@runtime_checkable
class PasskeyReads(PasskeyCounts, Protocol):
    """Passkeys are MFA methods too: the core lists and counts them (the passkey area owns them)."""

    def for_user(self, user_id: str) -> list[PasskeyRow]: ...


class LockoutUnit(Protocol):
    @property
    def mfa(self) -> LockoutStore: ...


class MfaUnit(CoreUnit, Protocol):
    @property
    def mfa(self) -> MfaStore: ...

    @property
    def passkeys(self) -> PasskeyReads: ...

    @property
    def credentials(self) -> CredentialRecords: ...
