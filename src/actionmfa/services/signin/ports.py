"""What sign-in needs from storage (see :mod:`actionmfa.services.core.ports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from actionmfa.domain.records import EmailVerificationRow
from actionmfa.services.core.ports import CoreUnit, DeviceCounts
from actionmfa.services.signin.throttle import AttemptStore


@runtime_checkable
class EmailVerificationStore(Protocol):
    def add(
        self, *, id: str, environment_id: str, email: str, code_hash: str, now: datetime, expires_at: datetime
    ) -> None: ...

    def get(self, environment_id: str, verification_id: str) -> EmailVerificationRow | None: ...

    def mark_used(self, verification_id: str, now: datetime) -> bool: ...

    def take_attempt(self, verification_id: str, max_attempts: int) -> bool: ...

    def purge_for_email(self, environment_id: str, email: str, expired_before: datetime) -> int: ...


class SignInMfa(DeviceCounts, Protocol):
    """The MFA core's storage sign-in touches: the method count (never the MFA lockout, DESIGN §8)."""


class SignInUnit(CoreUnit, Protocol):
    @property
    def mfa(self) -> SignInMfa: ...

    @property
    def email_verifications(self) -> EmailVerificationStore: ...

    @property
    def signin_attempts(self) -> AttemptStore: ...
