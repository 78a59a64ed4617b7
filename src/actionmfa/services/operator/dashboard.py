"""The operator dashboard (no web types here): its sessions, its pages, the settings form.

A dashboard session is a cookie holding the admin token sealed with the Keyring (AES-GCM, its own
``aad``) and an expiry: nothing to store server-side, and revoking or rotating the admin token ends
every dashboard session made with it, because each request re-authenticates the sealed token.
Forms carry a CSRF token derived from the cookie with a keyed hash.

The pages read and write through the admin API's own use cases (:class:`EnvironmentAdmin`,
:class:`AuditLog`), so a dashboard user can do exactly what their admin token allows there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actionmfa.clock import Clock, to_epoch
from actionmfa.crypto import Keyring, constant_time_equal
from actionmfa.domain.actions import MFAAction, MFADeviceType, TokenBehavior
from actionmfa.domain.models import Environment, User
from actionmfa.domain.settings import EnvironmentSettings, MfaActionSetting, SecuritySettings
from actionmfa.domain.wallets import PendingAction
from actionmfa.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnauthorizedError
from actionmfa.services.core.access import Access
from actionmfa.services.core.environments import AdminPrincipal
from actionmfa.services.core.webhooks import WebhookWorker
from actionmfa.services.operator.audit_chain import AuditChain, ChainState
from actionmfa.services.operator.audit_filter import AuditFilter, filtered_page
from actionmfa.services.operator.audit_log import AuditLog
from actionmfa.services.operator.environments import EnvironmentAdmin
from actionmfa.services.operator.mfa_reset import MfaReset
from actionmfa.services.operator.user_overview import UserLine, UserOverview
from actionmfa.services.wallets.admin import DelegationMarks, DelegationSummary, WalletAdmin
from actionmfa.services.wallets.pregenerated import Pregenerated, PregeneratedResult, parse_identities

USERS_PER_PAGE = 100
EVENTS_PER_PAGE = 50
DELIVERIES_PER_PAGE = 50
DELIVERY_STATUSES = ("pending", "delivered", "failed")
PREGENERATE_PER_FORM = 10  # identities per dashboard form (each key generation ~0.5-2 s); the CLI and API take 1,000

COOKIE_NAME = "amfa_dash"
SESSION_SECONDS = 8 * 3600
_AAD = "dashboard-session"


@dataclass(frozen=True)
class DashboardSession:
    principal: AdminPrincipal
    cookie: str

    def csrf(self, keyring: Keyring) -> str:
        return keyring.keyed_hash(self.cookie, purpose="dashboard-csrf")[:40]


@dataclass(frozen=True)
class EnvironmentsPage:
    environments: list[Environment]
    csrf: str
    operator: bool


@dataclass(frozen=True)
class EnvironmentPage:
    env: Environment
    settings: SecuritySettings
    actions: dict[str, MfaActionSetting]
    methods: dict[str, bool]
    csrf: str


@dataclass(frozen=True)
class UsersPage:
    env: Environment
    users: list[User]
    next_cursor: str | None
    lines: list[UserLine] = field(default_factory=list)
    csrf: str = ""


@dataclass(frozen=True)
class AuditEventsPage:
    env: Environment
    rows: list[dict[str, Any]]
    next_cursor: int | None
    chain: ChainState | None = None
    filters: AuditFilter = field(default_factory=lambda: AuditFilter())


@dataclass(frozen=True)
class UserPage:
    env: Environment
    line: UserLine
    delegation_enabled: bool
    csrf: str


@dataclass(frozen=True)
class WalletsPage:
    """The environment's wallets by delegation state, and the environment-wide decisions."""

    env: Environment
    summary: DelegationSummary
    csrf: str
    pregenerated: list[PregeneratedResult] = field(default_factory=list)  # the form's answer, one per identity
    pregenerate_limit: int = PREGENERATE_PER_FORM


@dataclass(frozen=True)
class DelegationConfirmation:
    """An environment-wide approval or revocation asks again: the operator types the environment's
    name (a slip of the mouse must not reshare every user's wallet)."""

    env: Environment
    action: str  # "approve" or "revoke"
    summary: DelegationSummary
    csrf: str
    mismatch: bool = False  # a name was typed and it was not this environment's


@dataclass(frozen=True)
class DeliveriesPage:
    env: Environment
    events: list[dict[str, Any]]
    status_filter: str  # "" (all) or one of DELIVERY_STATUSES
    csrf: str


class Dashboard:
    def __init__(
        self,
        keyring: Keyring,
        clock: Clock,
        access: Access,
        environments: EnvironmentAdmin,
        audit_log: AuditLog,
        audit_chain: AuditChain | None = None,
        user_overview: UserOverview | None = None,
        mfa_reset: MfaReset | None = None,
        wallet_admin: WalletAdmin | None = None,
        webhooks: WebhookWorker | None = None,
        pregenerated: Pregenerated | None = None,
    ) -> None:
        self.keyring = keyring
        self.clock = clock
        self.access = access
        self.environments = environments
        self.audit_log = audit_log
        self.audit_chain = audit_chain
        self.user_overview = user_overview
        self.mfa_reset = mfa_reset
        self.wallet_admin = wallet_admin
        self.webhooks = webhooks
        self.pregenerated = pregenerated

    # -- sessions --------------------------------------------------------------------------------
    def login(self, admin_token: str) -> str:
        """Check the token now and return the cookie value."""
        self.access.admin(admin_token.strip())
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
        principal = self.access.admin(str(body.get("t", "")))
        return DashboardSession(principal=principal, cookie=cookie)

    def check_csrf(self, session: DashboardSession, presented: str | None) -> None:
        if not presented or not constant_time_equal(session.csrf(self.keyring), presented):
            raise ForbiddenError("Form expired; reload the page")

    def logout(self, session: DashboardSession, form: Mapping[str, str]) -> None:
        """Sign out: a CSRF-checked form like every other (a cross-site POST must not end the
        operator's session). The cookie holds everything, so the caller just deletes it."""
        self.check_csrf(session, form.get("csrf"))

    # -- pages -----------------------------------------------------------------------------------
    def home(self, session: DashboardSession) -> EnvironmentsPage:
        """The environments this session's token manages."""
        principal = session.principal
        return EnvironmentsPage(self.environments.managed(principal), session.csrf(self.keyring),
                                operator=principal.environment_id is None)

    def environment(self, session: DashboardSession, env_id: str) -> EnvironmentPage:
        env = self.environments.get(session.principal, env_id)
        mfa = env.settings.security.mfa
        return EnvironmentPage(
            env=env,
            settings=env.settings.security,
            actions={a.value: mfa.action(a) for a in MFAAction},
            methods={t.value: mfa.method_enabled(t) for t in MFADeviceType},
            csrf=session.csrf(self.keyring),
        )

    def save_environment(self, session: DashboardSession, env_id: str, form: Mapping[str, str]) -> Environment:
        """The settings form posted: the same update as ``PUT /api/v0/environments/{id}``, with the
        form mapped onto the settings read in the same transaction."""
        session.principal.require(env_id)
        self.check_csrf(session, form.get("csrf"))
        return self.environments.update_with(
            session.principal, env_id, name=form.get("name") or None,
            settings_for=lambda current: settings_from_form(current, form),
        )

    def users(self, session: DashboardSession, env_id: str, cursor: str | None) -> UsersPage:
        env = self.environments.get(session.principal, env_id)
        users = self.environments.users(session.principal, env_id, limit=USERS_PER_PAGE, cursor=cursor)
        lines = self.user_overview.lines(env_id, users) if self.user_overview is not None else []
        return UsersPage(env, users, users[-1].id if len(users) == USERS_PER_PAGE else None, lines,
                         session.csrf(self.keyring))

    def reset_mfa(self, session: DashboardSession, env_id: str, user_id: str, form: Mapping[str, str]) -> None:
        """The Users page's "Reset MFA" (the admin API's ``POST /users/{id}/mfa/reset``)."""
        self.check_csrf(session, form.get("csrf"))
        assert self.mfa_reset is not None  # noqa: S101 - wired by the container
        if self.mfa_reset.environment_of_user(user_id) != env_id:
            raise NotFoundError("User not found")
        self.mfa_reset.reset_as(session.principal, user_id, client_address="dashboard")

    def unlock_wallet(self, session: DashboardSession, env_id: str, wallet_id: str, form: Mapping[str, str]) -> bool:
        """The Users page's "Unlock" on a wallet locked after an invalid signature (audited)."""
        self.check_csrf(session, form.get("csrf"))
        assert self.user_overview is not None  # noqa: S101 - wired by the container
        note = (form.get("note") or "").strip()
        return self.user_overview.unlock_wallet(session.principal, env_id, wallet_id, operator="dashboard", note=note)

    # -- wallets (issue 13.2, 13.5) ----------------------------------------------------------------
    def user(self, session: DashboardSession, env_id: str, user_id: str) -> UserPage:
        """A user's page: methods, lock state, and each wallet's scheme, chain, key version, lock,
        pending action and last signature."""
        assert self.user_overview is not None  # noqa: S101 - wired by the container
        env = self.environments.get(session.principal, env_id)
        user = self.environments.user(session.principal, env_id, user_id)
        return UserPage(env, self.user_overview.line(env_id, user),
                        env.settings.security.delegatedAccess.enabled, session.csrf(self.keyring))

    def wallets(self, session: DashboardSession, env_id: str) -> WalletsPage:
        assert self.wallet_admin is not None  # noqa: S101 - wired by the container
        env = self.environments.get(session.principal, env_id)
        return WalletsPage(env, self.wallet_admin.delegation_summary(session.principal, env_id),
                           session.csrf(self.keyring))

    def decide_delegation(self, session: DashboardSession, env_id: str, form: Mapping[str, str]
                          ) -> DelegationMarks | DelegationConfirmation:
        """The user page's and the wallets page's "Approve delegation" / "Revoke delegation" (the admin
        API's ``POST …/waas/delegation/{approve,revoke}``). For one user (``userId``) it runs at once;
        for every wallet of the environment it first answers a :class:`DelegationConfirmation`,
        and runs when the form comes back with the environment's name typed in ``confirm``."""
        assert self.wallet_admin is not None  # noqa: S101 - wired by the container
        self.check_csrf(session, form.get("csrf"))
        verb = form.get("action") or ""
        if verb not in ("approve", "revoke"):
            raise InvalidRequestError("action must be approve or revoke", field="action")
        action = PendingAction.APPROVE_DELEGATION if verb == "approve" else PendingAction.REVOKE_DELEGATION
        user_id = (form.get("userId") or "").strip() or None
        if user_id is not None:
            self.environments.user(session.principal, env_id, user_id)  # 404 for another environment's
            return self.wallet_admin.mark_delegation(session.principal, env_id, action, user_id=user_id)
        env = self.environments.get(session.principal, env_id)
        typed = form.get("confirm")
        if typed is None or not constant_time_equal(typed.strip(), env.name):
            return DelegationConfirmation(env, verb, self.wallet_admin.delegation_summary(session.principal, env_id),
                                          session.csrf(self.keyring), mismatch=typed is not None)
        return self.wallet_admin.mark_delegation(session.principal, env_id, action)

    def pregenerate(self, session: DashboardSession, env_id: str, form: Mapping[str, str]) -> WalletsPage:
        """The wallets page's "Pregenerate wallets" (the admin API's ``POST …/waas/pregenerated``, issue
        13.1): one identity a line, at most :data:`PREGENERATE_PER_FORM`; the page lists each wallet."""
        assert self.pregenerated is not None  # noqa: S101 - wired by the container
        self.check_csrf(session, form.get("csrf"))
        identities = parse_identities((form.get("identities") or "").splitlines(), source="identities")
        if not identities:
            raise InvalidRequestError("Name at least one email address or externalUserId:<sub>", field="identities")
        if len(identities) > PREGENERATE_PER_FORM:
            raise InvalidRequestError(f"At most {PREGENERATE_PER_FORM} identities per form; use "
                                      "`actionmfa wallets pregenerate --file` for more", field="identities")
        results = self.pregenerated.create(session.principal, env_id, identities)
        page = self.wallets(session, env_id)
        return WalletsPage(page.env, page.summary, page.csrf, pregenerated=results)

    # -- webhook deliveries (issue 13.4) -----------------------------------------------------------
    def deliveries(self, session: DashboardSession, env_id: str, status: str = "") -> DeliveriesPage:
        """The environment's webhook events, newest first, each with its attempts."""
        assert self.webhooks is not None  # noqa: S101 - wired by the container
        env = self.environments.get(session.principal, env_id)
        status = status if status in DELIVERY_STATUSES else ""
        events = self.webhooks.list_events(env_id, status=status or None, limit=DELIVERIES_PER_PAGE)
        return DeliveriesPage(env, events, status, session.csrf(self.keyring))

    def redeliver(self, session: DashboardSession, env_id: str, event_id: str, form: Mapping[str, str]) -> None:
        """The deliveries page's "Redeliver": the event is due again now, same event id (audited)."""
        assert self.webhooks is not None  # noqa: S101 - wired by the container
        self.check_csrf(session, form.get("csrf"))
        self.environments.get(session.principal, env_id)
        if not self.webhooks.redeliver(event_id, environment_id=env_id, operator="dashboard"):
            raise NotFoundError("Event not found")

    def audit(
        self, session: DashboardSession, env_id: str, cursor: int | None, filters: AuditFilter | None = None
    ) -> AuditEventsPage:
        env = self.environments.get(session.principal, env_id)
        filters = filters or AuditFilter()
        rows, next_cursor = filtered_page(self.audit_log, session.principal, env_id, cursor, filters)
        chain = self.audit_chain.state(env_id) if self.audit_chain is not None and cursor is None else None
        return AuditEventsPage(env, rows, next_cursor, chain, filters)


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
