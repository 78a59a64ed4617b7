"""A user's set of recovery codes (DESIGN §3): ten codes, stored as keyed hashes only, plus an
AEAD-sealed copy kept until the user acknowledges them (so they can be shown again until then)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from actionmfa.crypto import Keyring
from actionmfa.domain.actions import BackupCodeAcknowledgement
from actionmfa.domain.models import AuthContext
from actionmfa.factors import recovery
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.mfa.ports import MfaUnit


def codes_aad(user_id: str) -> str:
    return f"recovery:{user_id}"


def new_recovery_codes(uow: MfaUnit, keyring: Keyring, ctx: AuthContext, now: datetime) -> list[str]:
    """Replace the user's codes with a new set (the old ones stop working) and keep a sealed copy
    to show until acknowledged; the user's acknowledgement goes back to ``pending``."""
    codes = recovery.generate_codes()
    purpose = recovery.hash_purpose(ctx.user.id)
    uow.mfa.replace_recovery_codes(
        ctx.user.id,
        [
            {
                "id": str(uuid.uuid4()),
                "user_id": ctx.user.id,
                "created_at": now,
                "code_hash": keyring.keyed_hash(code, purpose=purpose),
                "used_at": None,
            }
            for code in codes
        ],
    )
    sealed = keyring.encrypt(json.dumps(codes).encode(), aad=codes_aad(ctx.user.id))
    uow.mfa.set_pending_codes(ctx.user.id, sealed)
    uow.users.update(ctx.user.id, now, mfa_backup_code_ack=BackupCodeAcknowledgement.PENDING.value)
    audit.record(uow, ctx, AuditEvent.RECOVERY_CODES_CREATED, now=now, outcome="ok", count=len(codes))
    return codes
