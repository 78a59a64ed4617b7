"""The unauthenticated settings document, ``GET /sdk/{environmentId}/settings``: Dynamic's
``ProjectSettings``, filled with what this server really does.

Dynamic's clients read it before anything else and its model requires ``chains``, ``kyc``,
``design``, ``general``, ``privacy``, ``sdk`` and ``security``. ActionMFA answers:

* ``chains`` — one entry per chain the server's wallets support (Dynamic's chain names: ``evm``,
  ``solana``), derived from the wallet engine's chain list, all enabled;
* ``kyc`` — empty: no profile fields are collected at sign-up;
* ``design`` — empty: the hosted pages have no themes to configure;
* ``general`` — the environment's name as ``displayName``;
* ``privacy`` — ``collectIp: true``: the audit log records each request's client address;
* ``sdk`` — empty: none of Dynamic's SDK feature switches (wallet connectors, Dynamic's WaaS, social
  sign-in, …) exists here, and announcing Dynamic's WaaS would send its clients to Dynamic's relay;
* ``security`` — :meth:`EnvironmentSettings.public` (``mfa`` with ``availableMethods``, ``externalAuth``,
  ``passkeys``, ``jwtDuration``, ``delegatedAccess``), without the ``null`` values Dynamic's models
  do not allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from actionmfa.domain.settings import EnvironmentSettings

__all__ = ["SETTINGS_CHAIN", "project_settings"]

# Dynamic's chain names in ProjectSettings.chains (CHAINS_INFO_MAP's apiChainName).
SETTINGS_CHAIN = {"EVM": "evm", "SOL": "solana"}


def project_settings(name: str, settings: EnvironmentSettings, *, chains: Iterable[str]) -> dict[str, Any]:
    """The whole public document for an environment called ``name`` whose wallets run on ``chains``."""
    security = _without_nulls(settings.public()["security"])
    mfa = security["mfa"]
    mfa["availableMethods"] = [m["type"] for m in mfa["methods"] if m["enabled"]]
    return {
        "chains": [{"name": SETTINGS_CHAIN.get(c, c.lower()), "enabled": True} for c in chains],
        "kyc": [],
        "design": {},
        "general": {"displayName": settings.general.displayName or name},
        "privacy": {"collectIp": True},
        "sdk": {},
        "security": security,
    }


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
