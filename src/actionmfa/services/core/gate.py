"""The gate (DESIGN §6): one function decides every gated action.

Signature (stable; the wallet and passkey routes call it)::

    from actionmfa.services.core.gate import gate_for, denials_recorded

    gate = gate_for(runtime)                       # one per process, cached in runtime.extras
    with denials_recorded(runtime.db):             # writes the audit row of a refusal after rollback
        with runtime.db.write() as uow:
            decision = gate.enforce(
                uow, ctx, MFAAction.WALLET_WAAS_SIGN,  # or a scope string, e.g. "credential:unlink"
                mfa_token=request.headers.get("x-mfa-auth-token"),
                elevated_token=request.headers.get("x-dyn-elevated-access-token"),
                approval_digest=None,             # hex SHA-256 of the canonical request, if bound
            )
            ... the action's own writes ...

``enforce`` runs inside the caller's write transaction and returns a :class:`GateDecision` or raises
``MfaRequiredError`` (403 ``mfa_required``) / ``MfaTokenInvalidError`` (403 ``mfa_token_invalid``).
Spending a single-use token is one conditional UPDATE in that transaction: if the action fails
and the transaction rolls back, the token is not spent; if N workers present it at once, exactly
one gets through. Call it before the action's own writes.

Order: a valid elevated token whose scope covers the action → allow (spend if single-use); else, if
MFA is required for the action (:func:`domain.policy.is_required_for_action` for actions; "the user
has a verified method" for MFA's own scopes ``credential:*``), a valid MFA token of this session must
be presented (spent if single-use) — an unknown, expired, spent, foreign or wrong-scope token gives
``mfa_token_invalid``, no token at all ``mfa_required``; else allow and ignore the MFA token.
Every decision is audited (allow rows in the caller's transaction, denials by
:func:`denials_recorded` once the transaction has rolled back).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.policy import is_required_for_action, requires_mfa_when_enrolled
from actionmfa.domain.tokens import TokenRefusal, scope_of
from actionmfa.errors import ActionMFAError, MfaRequiredError, MfaTokenInvalidError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.tokens import CheckedToken, TokenService
from actionmfa.store.db import Database
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.mfa import MfaRepo
from actionmfa.store.uow import UnitOfWork

GATE_KEY = "gate"


@dataclass(frozen=True, slots=True)
class GateDecision:
    allowed: bool
    required: bool
    via: str  # "elevated_token" | "mfa_token" | "not_required"
    scope: str
    token_id: str | None = None
    spent: bool = False


class Gate:
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.clock = tokens.clock

    def is_required(self, uow: UnitOfWork, ctx: AuthContext, target: MFAAction | str) -> bool:
        has_method = MfaRepo(uow.conn).has_verified_method(ctx.user.id, ctx.settings.security.mfa)
        if isinstance(target, MFAAction):
            return is_required_for_action(ctx.settings.security.mfa, target, has_verified_method=has_method)
        return requires_mfa_when_enrolled(has_verified_method=has_method)

    def enforce(
        self,
        uow: UnitOfWork,
        ctx: AuthContext,
        target: MFAAction | str,
        *,
        mfa_token: str | None,
        elevated_token: str | None,
        approval_digest: str | None = None,
    ) -> GateDecision:
        scope = scope_of(target)
        action = target.value if isinstance(target, MFAAction) else scope
        mfa_token = mfa_token or None  # the JS SDK sends an empty header when it has nothing
        elevated_token = elevated_token or None
        elevated_reason: str | None = None
        if elevated_token is not None:
            try:
                checked = self.tokens.check_elevated(uow, ctx, elevated_token, scope, approval_digest)
                self.tokens.spend(uow, checked)
            except TokenRefusal as refusal:
                elevated_reason = refusal.reason
            else:
                return self._allow(uow, ctx, action, scope, True, "elevated_token", checked)
        required = self.is_required(uow, ctx, target)
        if not required:
            return self._allow(uow, ctx, action, scope, False, "not_required", None)
        if mfa_token is not None:
            try:
                checked = self.tokens.check_mfa_token(uow, ctx, mfa_token, approval_digest)
                self.tokens.spend(uow, checked)
            except TokenRefusal as refusal:
                self._deny(ctx, action, MfaTokenInvalidError(), reason=refusal.reason, kind="mfa")
            else:
                return self._allow(uow, ctx, action, scope, True, "mfa_token", checked)
        if elevated_reason is not None:
            self._deny(ctx, action, MfaTokenInvalidError(), reason=elevated_reason, kind="elevated")
        self._deny(ctx, action, MfaRequiredError(), reason="no_token", kind=None)
        raise AssertionError("unreachable")  # pragma: no cover

    def _allow(
        self,
        uow: UnitOfWork,
        ctx: AuthContext,
        action: str,
        scope: str,
        required: bool,
        via: str,
        checked: CheckedToken | None,
    ) -> GateDecision:
        now = self.clock.now()
        spent = bool(checked and checked.single_use)
        if checked is not None:
            event = AuditEvent.ELEVATED_TOKEN_SPENT if checked.kind == "elevated" else AuditEvent.MFA_TOKEN_SPENT
            audit.record(
                uow, ctx, event, now=now, action=action, outcome="spent" if spent else "used", tokenId=checked.id
            )
        audit.record(
            uow,
            ctx,
            AuditEvent.GATE_ALLOWED,
            now=now,
            action=action,
            outcome="allow",
            via=via,
            scope=scope,
            required=required,
        )
        return GateDecision(True, required, via, scope, checked.id if checked else None, spent)

    def _deny(self, ctx: AuthContext, action: str, err: ActionMFAError, *, reason: str, kind: str | None) -> None:
        # The caller's transaction will roll back; the row rides on the error and is written by
        # denials_recorded() afterwards.
        row = audit.row_values(
            ctx,
            AuditEvent.GATE_DENIED,
            now=self.clock.now(),
            action=action,
            outcome=err.code,
            reason=reason,
            presented=kind,
        )
        pending: list[dict[str, Any]] = getattr(err, "audit_rows", [])
        pending.append(row)
        err.audit_rows = pending  # type: ignore[attr-defined]
        raise err


def gate_for(runtime: Any) -> Gate:
    """The process's gate (built on first use from the runtime's keyring, keys and clock)."""
    gate = runtime.extras.get(GATE_KEY)
    if gate is None:
        gate = Gate(TokenService(runtime.keyring, runtime.keys, runtime.clock))
        runtime.extras[GATE_KEY] = gate
    return gate  # type: ignore[no-any-return]


def write_pending_audit(db: Database, err: BaseException) -> None:
    rows = getattr(err, "audit_rows", None)
    if not rows:
        return
    with db.write() as uow:
        uow.conn.execute(insert(audit_log), rows)
    err.audit_rows = []  # type: ignore[attr-defined]


@contextmanager
def denials_recorded(db: Database) -> Iterator[None]:
    """Wrap the caller's ``db.write()`` block: a gate refusal's audit row is written after rollback."""
    try:
        yield
    except ActionMFAError as err:
        write_pending_audit(db, err)
        raise
