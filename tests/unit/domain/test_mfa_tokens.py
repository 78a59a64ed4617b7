from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actionmfa.domain.actions import MFAAction, TokenBehavior
from actionmfa.domain.settings import MfaActionSetting, MfaSettings
from actionmfa.domain.tokens import (
    MfaTokenRecord,
    TokenRefusal,
    check_elevated_claims,
    check_mfa_token,
    elevated_claims,
    grant_for_scopes,
    validate_requested_scopes,
)
from actionmfa.errors import InvalidScopesError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _rec(**kw: object) -> MfaTokenRecord:
    base: dict[str, object] = dict(
        user_id="u", session_id="s", single_use=True, used_at=None, approval_digest=None, session_alive=True
    )
    base.update(kw)
    return MfaTokenRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (None, "unknown"),
        (_rec(session_id="other"), "other_session"),
        (_rec(user_id="other"), "other_session"),
        (_rec(session_alive=False), "session_ended"),
        (_rec(used_at=NOW), "spent"),
        (_rec(approval_digest="aa"), "digest_mismatch"),
    ],
)
def test_mfa_token_refusals(record: MfaTokenRecord | None, reason: str) -> None:
    with pytest.raises(TokenRefusal) as info:
        check_mfa_token(record, user_id="u", session_id="s", approval_digest=None)
    assert info.value.reason == reason


def test_mfa_token_accepts() -> None:
    check_mfa_token(_rec(), user_id="u", session_id="s", approval_digest=None)
    check_mfa_token(_rec(single_use=False, used_at=NOW), user_id="u", session_id="s", approval_digest=None)
    check_mfa_token(_rec(approval_digest="aa"), user_id="u", session_id="s", approval_digest="aa")


def test_grant_defaults_and_settings() -> None:
    s = MfaSettings()
    g = grant_for_scopes(s, ("wallet:sign",))
    assert g.single_use and g.ttl_seconds == 300
    g = grant_for_scopes(s, ("user:update",))
    assert not g.single_use and g.ttl_seconds == 600
    g = grant_for_scopes(s, ("credential:unlink",))
    assert g.single_use and g.ttl_seconds == 300  # spent by the request that changes the credential
    s = MfaSettings(
        actions=[
            MfaActionSetting(
                action=MFAAction.USER_UPDATE,
                required=True,
                tokenBehavior=TokenBehavior.SINGLE_USE,
                tokenExpirySeconds=42,
            )
        ]
    )
    g = grant_for_scopes(s, ("user:update",))
    assert g.single_use and g.ttl_seconds == 42
    g = grant_for_scopes(s, ("credential:link", "user:update"))
    assert g.single_use and g.ttl_seconds == 42
    g = grant_for_scopes(MfaSettings(), ("credential:link", "user:update"))
    assert g.single_use and g.ttl_seconds == 300


def test_requested_scopes_validated() -> None:
    assert validate_requested_scopes(["wallet:sign", "wallet:sign", "user:update"]) == (
        "user:update",
        "wallet:sign",
    )
    for bad in ([], ["root"], ["wallet:sign", ""]):
        with pytest.raises(InvalidScopesError):
            validate_requested_scopes(bad)


def test_elevated_claims_checks() -> None:
    g = grant_for_scopes(MfaSettings(), ("wallet:sign",))
    claims = elevated_claims(
        g, user_id="u", session_id="s", environment_id="e", jti="j", now=NOW, approval_digest=None
    )
    assert claims["singleUse"] is True and claims["scope"] == "wallet:sign"
    check_elevated_claims(
        claims, user_id="u", session_id="s", scope="wallet:sign", now=NOW, approval_digest=None
    )
    cases = [
        (dict(user_id="u", session_id="x", scope="wallet:sign", now=NOW), "other_session"),
        (dict(user_id="u", session_id="s", scope="wallet:export", now=NOW), "wrong_scope"),
        (dict(user_id="u", session_id="s", scope="wallet:sign", now=NOW + timedelta(seconds=300)), "expired"),
    ]
    for kwargs, reason in cases:
        with pytest.raises(TokenRefusal) as info:
            check_elevated_claims(claims, approval_digest=None, **kwargs)  # type: ignore[arg-type]
        assert info.value.reason == reason
