"""Wire views of MFA records (camelCase, Dynamic's names); never a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from actionmfa.store.repos.mfa import DeviceRow


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


def passkey_view(p: dict[str, Any]) -> dict[str, Any]:
    def iso(v: Any) -> str | None:
        return v.isoformat() if isinstance(v, datetime) else None

    return {
        "id": p.get("id"),
        "alias": p.get("alias"),
        "userAgent": p.get("user_agent"),
        "origin": p.get("origin"),
        "credentialId": p.get("credential_id"),
        "createdAt": iso(p.get("created_at")),
        "updatedAt": iso(p.get("updated_at")),
    }
