"""What the dashboard's Users page shows of each user: MFA methods, wallets, lock states.

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
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import OperatorUnit
from actionmfa.services.wallets.admin import unlock_wallet


@dataclass(frozen=True)
class WalletLine:
    id: str
    chain: str
    address: str
    locked: bool
    lock_reason: str | None


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
        out: list[UserLine] = []
        with self.db.read() as uow:
            for user in users:
                methods = []
                if any(d.type is MFADeviceType.TOTP and d.verified for d in uow.mfa.devices(user.id)):
                    methods.append("TOTP")
                passkeys = uow.passkeys.count_for_user(user.id)
                if passkeys:
                    methods.append(f"{passkeys} passkey{'s' if passkeys > 1 else ''}")
                wallets = [
                    WalletLine(w.id, str(w.chain.value if hasattr(w.chain, "value") else w.chain), w.address,
                               w.locked_at is not None,
                               str(w.lock_reason.value) if w.lock_reason is not None else None)
                    for w in uow.wallets.wallets_of(environment_id, user.id)
                ]
                state = uow.mfa.state(user.id)
                locked = state.locked_until if state and state.locked_until and state.locked_until > now else None
                out.append(UserLine(user, methods, wallets, locked))
        return out

    def unlock_wallet(self, principal: AdminPrincipal, environment_id: str, wallet_id: str, *, operator: str,
                      note: str = "") -> bool:
        """``POST /api/v0/environments/{id}/waas/{walletId}/unlock`` and the dashboard's button."""
        principal.require(environment_id)
        with self.db.write() as uow:
            return unlock_wallet(uow, self.clock.now(), environment_id, wallet_id, operator=operator, note=note)
