"""Finishing a key rotation (``actionmfa keys rotate``): every sealed secret is re-encrypted under the
keyring's active key. Old keys stay in the keyring, so nothing becomes unreadable meanwhile."""

from __future__ import annotations

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.keys import signing_key_aad
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.webhooks import rotate_webhook_secrets
from actionmfa.services.mfa.codeset import codes_aad
from actionmfa.services.mfa.totp import totp_aad
from actionmfa.services.operator.ports import OperatorUnit
from actionmfa.services.wallets.admin import rotate_wallet_secrets


class KeyRotation:
    def __init__(self, db: Transactions[OperatorUnit], keyring: Keyring, clock: Clock) -> None:
        self.db = db
        self.keyring = keyring
        self.clock = clock

    def rotate(self) -> int:
        """Re-encrypt everything; the number of secrets re-encrypted."""
        return self.rotate_mfa_secrets() + self.rotate_signing_keys_and_wallets()

    def rotate_mfa_secrets(self) -> int:
        """TOTP secrets and pending recovery-code copies (audited ``keys.rotated``)."""
        keyring = self.keyring
        count = 0
        with self.db.write() as uow:
            for device_id, blob in uow.mfa.all_secrets():
                if keyring.needs_rotation(blob):
                    uow.mfa.set_secret(device_id, keyring.reencrypt(blob, aad=totp_aad(device_id)))
                    count += 1
            for user_id, blob in uow.mfa.pending_copies():
                if keyring.needs_rotation(blob):
                    uow.mfa.set_pending_codes(user_id, keyring.reencrypt(blob, aad=codes_aad(user_id)))
                    count += 1
            audit.record(
                uow,
                AuditIds(None),
                AuditEvent.KEYS_ROTATED,
                now=self.clock.now(),
                outcome="ok",
                reencrypted=count,
                activeKeyId=keyring.active_key_id,
            )
        return count

    def rotate_signing_keys_and_wallets(self) -> int:
        """Wallet server shares, live ceremony state, delegation (webhook) secrets — the current one and
        a rotated-out one still in its overlap —, queued webhook bodies, and the signing keys (audited
        ``keys.rotated`` with ``part: wallets``)."""
        keyring = self.keyring
        count = 0
        with self.db.write() as uow:
            count += rotate_wallet_secrets(uow, keyring)
            count += rotate_webhook_secrets(uow, keyring)
            for row in uow.signing_keys.all():
                if keyring.needs_rotation(row.private_key):
                    uow.signing_keys.set_private_key(row.kid, keyring.reencrypt(row.private_key,
                                                                                aad=signing_key_aad(row.kid)))
                    count += 1
            audit.record(uow, AuditIds(None), AuditEvent.KEYS_ROTATED, now=self.clock.now(), outcome="ok",
                         reencrypted=count, activeKeyId=keyring.active_key_id, part="wallets")
        return count
