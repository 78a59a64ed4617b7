"""Operator dashboard sessions and the settings form (no web types here).

A dashboard session is a cookie holding the admin token sealed with the Keyring (AES-GCM, its own
``aad``) and an expiry: nothing to store server-side, and revoking or rotating the admin token ends
every dashboard session made with it, because each request re-authenticates the sealed token.
Forms carry a CSRF token derived from the cookie with a keyed hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actionmfa.clock import Clock, to_epoch
from actionmfa.crypto import Keyring, constant_time_equal
from actionmfa.domain.actions import MFAAction, MFADeviceType, TokenBehavior
from actionmfa.domain.settings import EnvironmentSettings
from actionmfa.errors import ForbiddenError, UnauthorizedError
from actionmfa.services.core.environments import AdminPrincipal, EnvironmentService
from actionmfa.store.db import Database

COOKIE_NAME = "amfa_dash"
SESSION_SECONDS = 8 * 3600
_AAD = "dashboard-session"


@dataclass(frozen=True)
class DashboardSession:
    principal: AdminPrincipal
    cookie: str

    def csrf(self, keyring: Keyring) -> str:
        return keyring.keyed_hash(self.cookie, purpose="dashboard-csrf")[:40]


class DashboardAuth:
    def __init__(self, keyring: Keyring, environments: EnvironmentService, db: Database, clock: Clock) -> None:
        self.keyring = keyring
        self.environments = environments
        self.db = db
        self.clock = clock

    def login(self, admin_token: str) -> str:
        """Check the token now and return the cookie value."""
        with self.db.read() as uow:
            self.environments.authenticate_admin(uow, admin_token.strip())
        body = json.dumps({"t": admin_token.strip(), "exp": to_epoch(self.clock.now()) + SESSION_SECONDS})
        return self.keyring.encrypt(body.encode(), aad=_AAD)

    def session(self, cookie: str | None) -> DashboardSession:
        if not cookie:
            raise UnauthorizedError("Sign in to the dashboard")
        try:
            body = json.loads(self.keyring.decrypt(cookie, aad=_AAD))
        except Exception:
            raise UnauthorizedError("Sign in to the dashboard") from None
        if not isinstance(body, dict) or int(body.get("exp", 0)) <= to_epoch(self.clock.now()):
            raise UnauthorizedError("Dashboard session expired")
        with self.db.read() as uow:
            principal = self.environments.authenticate_admin(uow, str(body.get("t", "")))
        return DashboardSession(principal=principal, cookie=cookie)

    def check_csrf(self, session: DashboardSession, presented: str | None) -> None:
        if not presented or not constant_time_equal(session.csrf(self.keyring), presented):
            raise ForbiddenError("Form expired; reload the page")


def _whole_number(text: str) -> int | str:
    """An ASCII whole number as int; anything else is passed on as text for the settings model to
    refuse with the field named ("²".isdigit() is true, and int() of 5,000 digits raises)."""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return text


def settings_from_form(current: EnvironmentSettings, form: Mapping[str, str]) -> dict[str, Any]:
    """Turn the settings form into a full settings document (validated by the caller)."""

    def checked(name: str) -> bool:
        return form.get(name) in ("on", "true", "1")

    actions = []
    for action in MFAAction:
        key = action.value
        behavior = form.get(f"action.{key}.tokenBehavior") or ""
        expiry = (form.get(f"action.{key}.tokenExpirySeconds") or "").strip()
        item: dict[str, Any] = {"action": key, "required": checked(f"action.{key}.required")}
        if behavior in {b.value for b in TokenBehavior}:
            item["tokenBehavior"] = behavior
        if expiry:
            item["tokenExpirySeconds"] = _whole_number(expiry)
        actions.append(item)
    doc = current.model_dump(mode="json")
    security = doc["security"]
    security["mfa"] = {
        "enabled": checked("mfa.enabled"),
        "enrollment": form.get("mfa.enrollment", "none"),
        "methods": [{"type": t.value, "enabled": checked(f"method.{t.value}")} for t in MFADeviceType],
        "actions": actions,
    }
    origins = [o.strip() for o in (form.get("passkeys.origins") or "").splitlines() if o.strip()]
    security["passkeys"] = {
        "rpId": (form.get("passkeys.rpId") or "").strip(),
        "rpName": (form.get("passkeys.rpName") or "").strip(),
        "origins": origins,
    }
    amount = (form.get("jwtDuration.amount") or "").strip()
    security["jwtDuration"] = {
        "amount": _whole_number(amount),
        "unit": form.get("jwtDuration.unit", "hours"),
    }
    ext = security.get("externalAuth", {})
    ext.update(
        {
            "enabled": checked("externalAuth.enabled"),
            "iss": (form.get("externalAuth.iss") or "").strip() or None,
            "aud": (form.get("externalAuth.aud") or "").strip() or None,
            "jwksUrl": (form.get("externalAuth.jwksUrl") or "").strip() or None,
            "publicKeyPem": (form.get("externalAuth.publicKeyPem") or "").strip() or None,
        }
    )
    security["externalAuth"] = ext
    return doc
