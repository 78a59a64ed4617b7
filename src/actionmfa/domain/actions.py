"""Actions, scopes and their mapping (DESIGN §3)."""

from __future__ import annotations

from enum import StrEnum


class MFAAction(StrEnum):
    WALLET_WAAS_SIGN = "wallet.waas.sign"
    WALLET_WAAS_EXPORT = "wallet.waas.export"
    WALLET_WAAS_REFRESH = "wallet.waas.refresh"
    WALLET_WAAS_RESHARE = "wallet.waas.reshare"
    USER_UPDATE = "user.update"


class TokenScope(StrEnum):
    WALLET_SIGN = "wallet:sign"
    WALLET_EXPORT = "wallet:export"
    WALLET_REFRESH = "wallet:refresh"
    WALLET_RESHARE = "wallet:reshare"
    USER_UPDATE = "user:update"
    CREDENTIAL_LINK = "credential:link"
    CREDENTIAL_UNLINK = "credential:unlink"
    # Dynamic's SDK mints this one for both refresh and reshare (reference/dynamic-api.md §5.3–5.4).
    WALLET_DELEGATE = "wallet:delegate"


class SessionScope(StrEnum):
    USER_BASIC = "user:basic"
    REQUIRES_ADDITIONAL_AUTH = "requiresAdditionalAuth"


class MFADeviceType(StrEnum):
    TOTP = "totp"
    PASSKEY = "passkey"


class MfaEnrollment(StrEnum):
    NONE = "none"
    SIGNUP = "signup"
    ACTION = "action"


class TokenBehavior(StrEnum):
    SINGLE_USE = "single_use"
    TIME_BOUND = "time_bound"


class BackupCodeAcknowledgement(StrEnum):
    PENDING = "pending"
    COMPLETE = "complete"


SCOPE_FOR_ACTION: dict[MFAAction, TokenScope] = {
    MFAAction.WALLET_WAAS_SIGN: TokenScope.WALLET_SIGN,
    MFAAction.WALLET_WAAS_EXPORT: TokenScope.WALLET_EXPORT,
    MFAAction.WALLET_WAAS_REFRESH: TokenScope.WALLET_REFRESH,
    MFAAction.WALLET_WAAS_RESHARE: TokenScope.WALLET_RESHARE,
    MFAAction.USER_UPDATE: TokenScope.USER_UPDATE,
}


# Coarser scopes of Dynamic's that also cover an action (beside the action's own, finer scope):
# a ``wallet:delegate`` token authorises a refresh or a reshare, as Dynamic's SDK expects.
ALSO_COVERED_BY: dict[MFAAction, tuple[TokenScope, ...]] = {
    MFAAction.WALLET_WAAS_REFRESH: (TokenScope.WALLET_DELEGATE,),
    MFAAction.WALLET_WAAS_RESHARE: (TokenScope.WALLET_DELEGATE,),
}


def scopes_covering(action: MFAAction) -> tuple[TokenScope, ...]:
    """Every scope whose elevated token authorises ``action``: its own first, then Dynamic's coarser ones."""
    return (SCOPE_FOR_ACTION[action], *ALSO_COVERED_BY.get(action, ()))


def actions_of_scope(scope: str) -> tuple[MFAAction, ...]:
    """The actions an elevated token of ``scope`` authorises (none for ``credential:*``)."""
    return tuple(a for a in MFAAction if scope in scopes_covering(a))


def default_token_behavior(scope: TokenScope) -> TokenBehavior:
    """single_use for ``wallet:*`` scopes, time_bound otherwise (DESIGN §3)."""
    return TokenBehavior.SINGLE_USE if scope.value.startswith("wallet:") else TokenBehavior.TIME_BOUND


def default_token_expiry_seconds(behavior: TokenBehavior) -> int:
    return 300 if behavior is TokenBehavior.SINGLE_USE else 600


# Wire headers that carry MFA proof (Dynamic's names, reference §2.1).
MFA_TOKEN_HEADER = "x-mfa-auth-token"  # noqa: S105 - a header name, not a secret
ELEVATED_TOKEN_HEADER = "x-dyn-elevated-access-token"  # noqa: S105 - a header name
