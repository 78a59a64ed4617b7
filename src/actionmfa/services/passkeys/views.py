"""Wire views of passkeys (Dynamic's ``UserPasskey`` names)."""

from __future__ import annotations

from typing import Any

from actionmfa.domain.records import PasskeyRow


def passkey_json(row: PasskeyRow) -> dict[str, Any]:
    """Dynamic's ``UserPasskey`` plus the WebAuthn facts a management page shows."""
    return {
        "id": row.id,
        "alias": row.alias,
        "userAgent": row.user_agent,
        "origin": row.origin,
        "credentialId": row.credential_id,
        "createdAt": row.created_at.isoformat(),
        "updatedAt": row.updated_at.isoformat(),
        "lastUsedAt": row.last_used_at.isoformat() if row.last_used_at else None,
        "aaguid": row.aaguid,
        "algorithm": row.algorithm,
        "transports": list(row.transports),
        "backupEligible": row.backup_eligible,
        "backedUp": row.backed_up,
        "possiblyCloned": row.possibly_cloned_at is not None,
    }
