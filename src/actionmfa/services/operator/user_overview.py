"""What the dashboard shows of each user: MFA methods, wallets (scheme, chain, key version, lock,
pending action, last signature), lock states.

One read transaction per page (a few indexed lookups per user, at most ``USERS_PER_PAGE`` users).
Also the dashboard's two operator actions on a user's row: reset MFA (the admin API's use case)
and unlock a wallet locked after an invalid signature (docs/wallet-security.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actionmfa.clock import Clock
from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.models import User
from actionmfa.domain.records import WalletRow
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import OperatorUnit
from actionmfa.services.wallets.admin import unlock_wallet

SCHEMES = {"TWO_OF_TWO": "2-of-2", "TWO_OF_THREE": "2-of-3"}


@dataclass(frozen=True)
class WalletLine:
    id: str
    chain: str
    address: str
    locked: bool
    lock_reason: str | None
    scheme: str = "2-of-2"  # the threshold scheme as the operator reads it (SCHEMES)
    key_version: int = 1
    pending_action: str | None = None  # domain.wallets.PendingAction
    last_signed_at: datetime | None = None
    locked_at: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, w: WalletRow) -> WalletLine:
        return cls(w.id, w.chain.value, w.address, w.locked_at is not None,
                   w.lock_reason.value if w.lock_reason is not None else None,
                   SCHEMES.get(w.threshold_scheme, w.threshold_scheme), w.key_version, w.pending_action,
                   w.last_signed_at, w.locked_at, w.created_at)


@dataclass(frozen=True)
class UserLine:
    user: User
    methods: list[str]  # e.g. ["TOTP", "2 passkeys"]
    wallets: list[WalletLine]
    locked_until: datetime | None  # MFA code lockout (None: not locked)


class UserOverview:
    def __init__(self, db: Transactions[OperatorUnit], clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def lines(self, environment_id: str, users: list[User]) -> list[UserLine]:
        now = self.clock.now()
        with self.db.read() as uow:
            return [self._line(uow, environment_id, user, now) for user in users]

    def line(self, environment_id: str, user: User) -> UserLine:
        """One user's line (the dashboard's user page)."""
        with self.db.read() as uow:
            return self._line(uow, environment_id, user, self.clock.now())

    @staticmethod
    def _line(uow: OperatorUnit, environment_id: str, user: User, now: datetime) -> UserLine:
        methods = []
        if any(d.type is MFADeviceType.TOTP and d.verified for d in uow.mfa.devices(user.id)):
            methods.append("TOTP")
        passkeys = uow.passkeys.count_for_user(user.id)
        if passkeys:
            methods.append(f"{passkeys} passkey{'s' if passkeys > 1 else ''}")
        wallets = [WalletLine.of(w) for w in uow.wallets.wallets_of(environment_id, user.id)]
        state = uow.mfa.state(user.id)
        locked = state.locked_until if state and state.locked_until and state.locked_until > now else None
        return UserLine(user, methods, wallets, locked)

    def unlock_wallet(self, principal: AdminPrincipal, environment_id: str, wallet_id: str, *, operator: str,
                      note: str = "") -> bool:
        """``POST /api/v0/environments/{id}/waas/{walletId}/unlock`` and the dashboard's button."""
        principal.require(environment_id)
        with self.db.write() as uow:
            return unlock_wallet(uow, self.clock.now(), environment_id, wallet_id, operator=operator, note=note)
