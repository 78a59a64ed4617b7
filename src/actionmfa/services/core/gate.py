"""The gate (DESIGN §6): one function decides every gated action.

Signature (stable; every area's gated use case calls it)::

    with denials_recorded(self.db), self.db.write() as uow:   # a refusal's audit row is written after rollback
        decision = self.gate.enforce(
            uow, ctx, MFAAction.WALLET_WAAS_SIGN,  # or a scope string, e.g. "credential:unlink"
            proof,                                # the request's Proof (domain.tokens): MFA token,
        )                                         # elevated token, approval digest
        ... the action's own writes ...

``enforce`` runs inside the caller's write transaction and returns a :class:`GateDecision` or raises
``MfaRequiredError`` (403 ``mfa_required``) / ``MfaTokenInvalidError`` (403 ``mfa_token_invalid``).
Spending a single-use token is one conditional UPDATE in that transaction: if the action fails
and the transaction rolls back, the token is not spent; if N workers present it at once, exactly
one gets through. Call it before the action's own writes.

Order: a valid elevated token whose scope covers the action → allow (spend if single-use); else, if
MFA is required for the action (:func:`domain.policy.requirement_for_action` for actions; "the user
has a verified method" for MFA's own scopes ``credential:*``), a valid MFA token of this session must
be presented (spent if single-use) — an unknown, expired, spent, foreign or wrong-scope token gives
``mfa_token_invalid``, no token at all ``mfa_required``; else allow and ignore the MFA token. The
common case is one ``UPDATE … RETURNING`` that checks the token, its session and — when the rule
depends on them — the user's methods, and spends it; the methods are not counted at all when the
settings alone decide.
Every decision is audited (allow rows in the caller's transaction, denials by
:func:`denials_recorded` once the transaction has rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from actionmfa.domain.actions import MFAAction
from actionmfa.domain.models import AuthContext
from actionmfa.domain.policy import Requirement, requirement_for_action
from actionmfa.domain.tokens import GateVia, Proof, TokenKind, TokenRefusal, scope_of
from actionmfa.errors import ActionMFAError, MfaRequiredError, MfaTokenInvalidError
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent
from actionmfa.services.core.methods import counted_methods, has_verified_method
from actionmfa.services.core.ports import AuditUnit, CoreUnit, Transactions
from actionmfa.services.core.tokens import CheckedToken, TokenService

T = TypeVar("T")
U = TypeVar("U", bound=CoreUnit)


@dataclass(frozen=True, slots=True)
class GateDecision:
    allowed: bool
    required: bool
    via: GateVia
    scope: str
    token_id: str | None = None
    spent: bool = False


class Gate:
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.clock = tokens.clock

    def is_required(self, uow: CoreUnit, ctx: AuthContext, target: MFAAction | str) -> bool:
        return self._required(uow, ctx, _requirement(ctx, target))

    @staticmethod
    def _required(uow: CoreUnit, ctx: AuthContext, requirement: Requirement) -> bool:
        """The requirement answered for this user (their methods are counted only if it matters)."""
        if requirement is not Requirement.IF_ENROLLED:
            return requirement is Requirement.YES
        return has_verified_method(uow, ctx.user.id, ctx.settings.security.mfa)

    def enforce(self, uow: CoreUnit, ctx: AuthContext, target: MFAAction | str, proof: Proof) -> GateDecision:
        scope = scope_of(target)
        action = target.value if isinstance(target, MFAAction) else scope
        mfa_token = proof.mfa_token or None  # the JS SDK sends an empty header when it has nothing
        elevated_token = proof.elevated_token or None
        elevated_reason: str | None = None
        if elevated_token is not None:
            try:
                checked = self.tokens.check_elevated(uow, ctx, elevated_token, scope, proof.approval_digest)
                self.tokens.spend(uow, checked)
            except TokenRefusal as refusal:
                elevated_reason = refusal.reason
            else:
                return self._allow(uow, ctx, action, scope, True, GateVia.ELEVATED_TOKEN, checked)
        requirement = _requirement(ctx, target)
        if mfa_token is not None and requirement is not Requirement.NO:
            # The common case in one statement: a live token of this session spent (if single-use)
            # while the requirement holds — the user's methods counted inside the statement when
            # the requirement depends on them. A miss writes nothing and takes the full path below,
            # which tells not required from refused, and why.
            devices, passkeys = (
                counted_methods(ctx.settings.security.mfa) if requirement is Requirement.IF_ENROLLED else (False, False)
            )
            if requirement is Requirement.YES or devices or passkeys:
                accepted = self.tokens.accept_mfa_token(
                    uow, ctx, mfa_token, proof.approval_digest, while_devices=devices, while_passkeys=passkeys
                )
                if accepted is not None:
                    return self._allow(uow, ctx, action, scope, True, GateVia.MFA_TOKEN, accepted)
        if not self._required(uow, ctx, requirement):
            return self._allow(uow, ctx, action, scope, False, GateVia.NOT_REQUIRED, None)
        if mfa_token is not None:
            try:
                checked = self.tokens.check_mfa_token(uow, ctx, mfa_token, proof.approval_digest)
                self.tokens.spend(uow, checked)
            except TokenRefusal as refusal:
                self._deny(ctx, action, MfaTokenInvalidError(), reason=refusal.reason, kind="mfa")
            else:
                return self._allow(uow, ctx, action, scope, True, GateVia.MFA_TOKEN, checked)
        if elevated_reason is not None:
            self._deny(ctx, action, MfaTokenInvalidError(), reason=elevated_reason, kind="elevated")
        self._deny(ctx, action, MfaRequiredError(), reason="no_token", kind=None)
        raise AssertionError("unreachable")  # pragma: no cover

    def run(
        self,
        db: Transactions[U],
        ctx: AuthContext,
        target: MFAAction | str,
        proof: Proof,
        action: Callable[[U, datetime], T],
    ) -> T:
        """A gated use case in one write transaction: :meth:`enforce`, then ``action(uow, now)``;
        a refusal is audited after the rollback (:func:`denials_recorded`)."""
        with denials_recorded(db), db.write() as uow:
            self.enforce(uow, ctx, target, proof)
            return action(uow, self.clock.now())

    def _allow(
        self,
        uow: CoreUnit,
        ctx: AuthContext,
        action: str,
        scope: str,
        required: bool,
        via: GateVia,
        checked: CheckedToken | None,
    ) -> GateDecision:
        now = self.clock.now()
        spent = bool(checked and checked.single_use)
        if checked is not None:
            event = (
                AuditEvent.ELEVATED_TOKEN_SPENT if checked.kind is TokenKind.ELEVATED else AuditEvent.MFA_TOKEN_SPENT
            )
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
            via=via.value,
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


def _requirement(ctx: AuthContext, target: MFAAction | str) -> Requirement:
    """An action's requirement from the settings; MFA's own scopes (``credential:*``) need proof
    whenever the user has a verified method (:func:`domain.policy.requires_mfa_when_enrolled`)."""
    if isinstance(target, MFAAction):
        return requirement_for_action(ctx.settings.security.mfa, target)
    return Requirement.IF_ENROLLED


def write_pending_audit(db: Transactions[AuditUnit], err: BaseException) -> None:
    rows = getattr(err, "audit_rows", None)
    if not rows:
        return
    with db.write() as uow:
        uow.audit.add_many(rows)
    err.audit_rows = []  # type: ignore[attr-defined]


@contextmanager
def denials_recorded(db: Transactions[AuditUnit]) -> Iterator[None]:
    """Wrap the caller's ``db.write()`` block: a gate refusal's audit row is written after rollback."""
    try:
        yield
    except ActionMFAError as err:
        write_pending_audit(db, err)
        raise
