"""A user's MFA devices and methods: list, show, make default, delete (gated by ``credential:unlink``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.actions import TokenScope
from actionmfa.domain.models import AuthContext
from actionmfa.domain.tokens import Proof
from actionmfa.errors import MfaDeviceNotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.gate import Gate
from actionmfa.services.core.methods import has_verified_method
from actionmfa.services.core.ports import Transactions
from actionmfa.services.mfa.ports import MfaUnit
from actionmfa.services.mfa.views import device_view, passkey_view


class Devices:
    def __init__(self, db: Transactions[MfaUnit], clock: Clock, gate: Gate) -> None:
        self.db = db
        self.clock = clock
        self.gate = gate

    def list_devices(self, ctx: AuthContext) -> list[dict[str, Any]]:
        with self.db.read() as uow:
            return [device_view(d) for d in uow.mfa.devices(ctx.user.id)]

    def methods(self, ctx: AuthContext, *, verified_only: bool) -> dict[str, Any]:
        with self.db.read() as uow:
            devices = [d for d in uow.mfa.devices(ctx.user.id) if d.verified or not verified_only]
            passkeys = [passkey_view(p) for p in uow.passkeys.for_user(ctx.user.id)]
            return {
                "devices": [device_view(d) for d in devices],
                "passkeys": passkeys,
                "userHasVerifiedMfaMethods": has_verified_method(uow, ctx.user.id, ctx.settings.security.mfa),
            }

    def get_device(self, ctx: AuthContext, device_id: str) -> dict[str, Any]:
        with self.db.read() as uow:
            device = uow.mfa.device(ctx.user.id, device_id)
        if device is None:
            raise MfaDeviceNotFoundError()
        return device_view(device)

    def set_default(self, ctx: AuthContext, device_id: str) -> None:
        with self.db.write() as uow:
            device = uow.mfa.device(ctx.user.id, device_id)
            if device is None or not device.verified:
                raise MfaDeviceNotFoundError()
            uow.mfa.set_default(ctx.user.id, device_id)
            audit.record(
                uow, ctx, AuditEvent.MFA_DEVICE_DEFAULT_SET, now=self.clock.now(), outcome="ok", deviceId=device_id
            )

    def delete_device(self, ctx: AuthContext, device_id: str, proof: Proof) -> None:
        """``DELETE /users/mfa/{id}``: gated by ``credential:unlink`` (an MFA token of this session)."""
        with self.db.read() as uow:
            if uow.mfa.device(ctx.user.id, device_id) is None:
                raise MfaDeviceNotFoundError()

        def delete(uow: MfaUnit, now: datetime) -> None:
            if uow.mfa.device(ctx.user.id, device_id) is None:
                raise MfaDeviceNotFoundError()
            uow.mfa.delete_device(device_id)
            audit.record(uow, ctx, AuditEvent.MFA_DEVICE_DELETED, now=now, outcome="ok", deviceId=device_id)

        self.gate.run(self.db, ctx, TokenScope.CREDENTIAL_UNLINK, proof, delete)
