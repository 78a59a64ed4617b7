"""What the passkey area needs from storage (see :mod:`actionmfa.services.core.ports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from actionmfa.domain.records import ChallengeRow, PasskeyRow
from actionmfa.services.mfa.ports import MfaUnit, PasskeyReads


@runtime_checkable
class PasskeyStore(PasskeyReads, Protocol):
    """WebAuthn credentials and the challenges of open ceremonies."""

    def add(self, **values: Any) -> bool: ...

    def lock_user(self, user_id: str) -> None: ...

    def get(self, user_id: str, passkey_id: str) -> PasskeyRow | None: ...

    def by_credential(self, environment_id: str, credential_id: str) -> PasskeyRow | None: ...

    def advance_counter(
        self, passkey_id: str, *, expected: int, new: int, backed_up: bool, now: datetime
    ) -> bool: ...

    def mark_possibly_cloned(self, passkey_id: str, now: datetime) -> None: ...

    def rename(self, user_id: str, passkey_id: str, alias: str | None, now: datetime) -> bool: ...

    def delete(self, user_id: str, passkey_id: str) -> bool: ...

    def add_challenge(self, **values: Any) -> None: ...

    def spend_challenge(
        self, *, challenge_hash: str, environment_id: str, user_id: str, session_id: str, kind: str, now: datetime
    ) -> ChallengeRow | None: ...

    def burn_challenge(self, challenge_hash: str, now: datetime) -> None: ...

    def open_ceremony(self, environment_id: str, ceremony_id: str, now: datetime) -> ChallengeRow | None: ...

    def purge_challenges(self, before: datetime) -> None: ...


class PasskeyUnit(MfaUnit, Protocol):
    @property
    def passkeys(self) -> PasskeyStore: ...
