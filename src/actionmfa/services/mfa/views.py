"""Wire views of MFA records (camelCase, Dynamic's names); never a secret."""

from __future__ import annotations

from typing import Any

from actionmfa.domain.records import DeviceRow, PasskeyRow


def device_view(d: DeviceRow) -> dict[str, Any]:
    """``MFADevice {id, type, verified, createdAt, verifiedAt, default, alias}`` (never the secret)."""
    return {
        "id": d.id,
        "type": d.type.value,
        "verified": d.verified,
        "createdAt": d.created_at.isoformat(),
        "verifiedAt": d.verified_at.isoformat() if d.verified_at else None,
        "default": d.is_default,
        "alias": d.alias,
    }


def passkey_view(p: PasskeyRow) -> dict[str, Any]:
    """A passkey as ``GET /users/mfa/methods`` lists it (the passkey routes show more)."""
    return {
        "id": p.id,
        "alias": p.alias,
        "userAgent": p.user_agent,
        "origin": p.origin,
        "credentialId": p.credential_id,
        "createdAt": p.created_at.isoformat(),
        "updatedAt": p.updated_at.isoformat(),
    }
