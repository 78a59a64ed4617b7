"""Operator actions of the MFA core: reset a user's MFA, re-encrypt secrets under the active key."""

from __future__ import annotations

from typing import Any

from actionmfa.errors import NotFoundError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.mfa.service import codes_aad, totp_aad
from actionmfa.store.repos.mfa import MfaRepo


def environment_of_user(runtime: Any, user_id: str) -> str:
    """The user's environment (404 for an unknown user; the caller then checks the admin's scope)."""
    with runtime.db.read() as uow:
        env_id = MfaRepo(uow.conn).environment_of_user(user_id)
    if env_id is None:
        raise NotFoundError("User not found")
    return env_id


def admin_reset(runtime: Any, environment_id: str, user_id: str, *, client_address: str | None = None) -> None:
    """``POST /api/v0/users/{userId}/mfa/reset``: devices, passkeys, codes, tokens and lockout go."""
    with runtime.db.write() as uow:
        if uow.users.get(environment_id, user_id) is None:
            raise NotFoundError("User not found")
        MfaRepo(uow.conn).reset_user(user_id)
        ids = AuditIds(environment_id, user_id, None, client_address)
        audit.record(uow, ids, AuditEvent.MFA_RESET, now=runtime.clock.now(), outcome="ok", by="admin")


def rotate_secrets(runtime: Any) -> int:
    """Re-encrypt every TOTP secret and pending recovery-code copy under the keyring's active key."""
    keyring = runtime.keyring
    count = 0
    with runtime.db.write() as uow:
        repo = MfaRepo(uow.conn)
        for device_id, blob in repo.all_secrets():
            if keyring.needs_rotation(blob):
                repo.set_secret(device_id, keyring.reencrypt(blob, aad=totp_aad(device_id)))
                count += 1
        for user_id, blob in repo.pending_copies():
            if keyring.needs_rotation(blob):
                repo.set_state(user_id, pending_codes_enc=keyring.reencrypt(blob, aad=codes_aad(user_id)))
                count += 1
        audit.record(
            uow,
            AuditIds(None),
            AuditEvent.KEYS_ROTATED,
            now=runtime.clock.now(),
            outcome="ok",
            reencrypted=count,
            activeKeyId=keyring.active_key_id,
        )
    return count
