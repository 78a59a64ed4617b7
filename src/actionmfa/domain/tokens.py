"""Rules for the two proofs of MFA a gated action accepts (DESIGN §3, §6).

* **MFA token** (``x-mfa-auth-token``): 256-bit random, stored only as a keyed hash, bound to the
  user and session; single-use ones are spent by the first gated action, persistent ones live as long
  as the session.
* **Elevated access token** (``x-dyn-elevated-access-token``): a JWT with ``sub``, ``sid``,
  ``scope`` (space-separated), ``exp``, ``jti``, ``singleUse`` (and ``approvalDigest`` when bound to
  a payload), signed with a key of its own. Lifetime and behaviour come from the action's settings.

This module decides *whether* a presented token is acceptable; storage and signing live in
``services/``. Every refusal is the same :class:`~actionmfa.errors.MfaTokenInvalidError` — the
caller learns nothing about which check failed (the audit log records the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from actionmfa.domain.actions import (
    SCOPE_FOR_ACTION,
    MFAAction,
    TokenBehavior,
    TokenScope,
    actions_of_scope,
    scopes_covering,
)
from actionmfa.domain.settings import MfaSettings
from actionmfa.errors import InvalidScopesError

ELEVATED_AUDIENCE = "actionmfa:elevated"
# Scopes beyond the action scopes that MFA routes themselves use. ``credential:update`` covers
# regenerating recovery codes (Dynamic's TokenScope has it; it is no configurable action).
CREDENTIAL_UPDATE = "credential:update"
KNOWN_SCOPES: frozenset[str] = frozenset({s.value for s in TokenScope} | {CREDENTIAL_UPDATE})
ACTION_FOR_SCOPE: dict[str, MFAAction] = {scope.value: action for action, scope in SCOPE_FOR_ACTION.items()}


@dataclass(frozen=True, slots=True)
class Proof:
    """The proof of MFA one request presents to the gate (DESIGN §6), carried from the router to
    :meth:`actionmfa.services.core.gate.Gate.enforce` as one value.

    ``mfa_token`` is the ``x-mfa-auth-token`` header, ``elevated_token`` the
    ``x-dyn-elevated-access-token`` header (either may be absent or empty). ``approval_digest`` is the
    hex SHA-256 of the canonical request being approved: a token bound to a digest authorises only
    the request with that digest (the wallet's signing ceremony sets it from the payload with
    :meth:`bound_to`; elsewhere it is None).
    """

    mfa_token: str | None = None
    elevated_token: str | None = None
    approval_digest: str | None = None

    def bound_to(self, approval_digest: str | None) -> Proof:
        return replace(self, approval_digest=approval_digest)


class TokenKind(StrEnum):
    """Which of the two proofs a checked token is (audit log ``tokenId`` rows name it)."""

    MFA_TOKEN = "mfa_token"  # noqa: S105 - a kind, not a secret
    ELEVATED = "elevated"


class GateVia(StrEnum):
    """How the gate allowed an action (``via`` in the audit log and in the action's own rows)."""

    ELEVATED_TOKEN = "elevated_token"  # noqa: S105 - a path through the gate, not a secret
    MFA_TOKEN = "mfa_token"  # noqa: S105
    NOT_REQUIRED = "not_required"


class TokenRefusal(Exception):
    """Why a token was refused; for the audit log only, never for the wire."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MfaTokenRecord:
    user_id: str
    session_id: str
    single_use: bool
    used_at: datetime | None
    approval_digest: str | None
    session_alive: bool


def check_mfa_token(
    record: MfaTokenRecord | None, *, user_id: str, session_id: str, approval_digest: str | None
) -> None:
    """Raise :class:`TokenRefusal` unless the stored token may authorise an action of this session."""
    if record is None:
        raise TokenRefusal("unknown")
    if record.user_id != user_id or record.session_id != session_id:
        raise TokenRefusal("other_session")
    if not record.session_alive:
        raise TokenRefusal("session_ended")
    if record.single_use and record.used_at is not None:
        raise TokenRefusal("spent")
    _check_digest(record.approval_digest, approval_digest)


@dataclass(frozen=True, slots=True)
class ElevatedGrant:
    """What an elevated token minted for ``scopes`` looks like: one behaviour, one lifetime."""

    scopes: tuple[str, ...]
    single_use: bool
    ttl_seconds: int


def validate_requested_scopes(scopes: list[str]) -> tuple[str, ...]:
    if not scopes:
        raise InvalidScopesError("requestedScopes must not be empty", field="requestedScopes")
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise InvalidScopesError(f"unknown scope {unknown[0]!r}", field="requestedScopes")
    return tuple(sorted(set(scopes)))


def grant_for_scopes(settings: MfaSettings, scopes: tuple[str, ...]) -> ElevatedGrant:
    """Behaviour and lifetime from each scope's action settings (DESIGN §3 defaults otherwise;
    ``credential:*`` scopes are single-use, 300 s).

    When several scopes are requested at once the strictest wins: single-use if any scope is, and
    the shortest lifetime.
    """
    single_use = False
    ttl: int | None = None
    for scope in scopes:
        actions = actions_of_scope(scope)
        if actions:
            # A scope covering several actions (``wallet:delegate``) gets the strictest of their settings.
            items = [settings.action(a) for a in actions]
            behavior = (
                TokenBehavior.SINGLE_USE
                if any(i.effective_behavior() is TokenBehavior.SINGLE_USE for i in items)
                else TokenBehavior.TIME_BOUND
            )
            seconds = min(i.effective_expiry_seconds() for i in items)
        elif scope.startswith("credential:"):
            # Adding, removing or changing a credential is a one-off: the token is spent by the
            # request that does it (DESIGN §8, "a credential:link elevated token (spent by the POST)").
            behavior, seconds = TokenBehavior.SINGLE_USE, 300
        else:
            behavior = TokenBehavior.TIME_BOUND
            seconds = 600
        single_use = single_use or behavior is TokenBehavior.SINGLE_USE
        ttl = seconds if ttl is None else min(ttl, seconds)
    return ElevatedGrant(scopes=scopes, single_use=single_use, ttl_seconds=ttl or 300)


def elevated_claims(
    grant: ElevatedGrant,
    *,
    user_id: str,
    session_id: str,
    environment_id: str,
    jti: str,
    now: datetime,
    approval_digest: str | None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": user_id,
        "sid": session_id,
        "environment_id": environment_id,
        "aud": ELEVATED_AUDIENCE,
        "scope": " ".join(grant.scopes),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=grant.ttl_seconds)).timestamp()),
        "jti": jti,
        "singleUse": grant.single_use,
    }
    if approval_digest is not None:
        claims["approvalDigest"] = approval_digest
    return claims


def check_elevated_claims(
    claims: dict[str, Any],
    *,
    user_id: str,
    session_id: str,
    scope: str,
    now: datetime,
    approval_digest: str | None,
) -> None:
    """Raise :class:`TokenRefusal` unless the (signature-checked) claims cover ``scope`` here and now."""
    if claims.get("sub") != user_id or claims.get("sid") != session_id:
        raise TokenRefusal("other_session")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= int(now.timestamp()):
        raise TokenRefusal("expired")
    scopes = set(str(claims.get("scope", "")).split())
    if not scopes & set(_covering(scope)):
        raise TokenRefusal("wrong_scope")
    _check_digest(claims.get("approvalDigest"), approval_digest)


def _check_digest(bound: object, presented: str | None) -> None:
    # A token bound to a payload digest authorises exactly that payload and nothing else.
    if bound is not None and bound != presented:
        raise TokenRefusal("digest_mismatch")


def _covering(scope: str) -> tuple[str, ...]:
    """The presented scopes that satisfy a check for ``scope`` (an action's scope, or a credential scope)."""
    action = ACTION_FOR_SCOPE.get(scope)
    return tuple(s.value for s in scopes_covering(action)) if action is not None else (scope,)


def scope_of(target: MFAAction | str) -> str:
    return SCOPE_FOR_ACTION[target].value if isinstance(target, MFAAction) else str(target)
