"""Dynamic's views of ActionMFA's records: verified credentials and the public settings document."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actionmfa.domain.actions import MFAAction, TokenBehavior
from actionmfa.domain.credentials import (
    CredentialFormat,
    MethodRecord,
    WalletRecord,
    sign_in_credential_id,
    verified_credentials,
)
from actionmfa.domain.models import User
from actionmfa.domain.project_settings import project_settings
from actionmfa.domain.settings import EnvironmentSettings, MfaActionSetting, MfaSettings
from actionmfa.domain.tokens import TokenRefusal, check_elevated_claims, grant_for_scopes, validate_requested_scopes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def user(**kw: object) -> User:
    fields: dict[str, object] = dict(
        id="u-1", environment_id="e-1", email="ada@example.com", external_id=None, alias=None, first_name=None,
        last_name=None, metadata=None, mfa_backup_code_ack=None, created_at=NOW, updated_at=NOW,
    )
    fields.update(kw)
    return User(**fields)  # type: ignore[arg-type]


def test_email_user_with_methods_and_a_wallet() -> None:
    creds = verified_credentials(
        user(),
        methods=[
            MethodRecord("d-1", CredentialFormat.TOTP, NOW),
            MethodRecord("p-1", CredentialFormat.PASSKEY, NOW, "laptop"),
        ],
        wallets=[WalletRecord("w-1", "0xAbC", "EVM", NOW), WalletRecord("w-2", "So1ana", "SOL", NOW)],
    )
    assert [c.format for c in creds] == ["email", "totp", "passkey", "blockchain", "blockchain"]
    email, totp, passkey, evm, sol = creds
    assert email.email == "ada@example.com" and email.sign_in_enabled and email.id == sign_in_credential_id(user())
    assert not totp.sign_in_enabled and totp.id == "d-1" and passkey.public_identifier == "laptop"
    assert (evm.address, evm.chain, evm.wallet_provider) == ("0xAbC", "eip155", "embeddedWallet")
    assert evm.embedded_wallet_id == "w-1"
    assert sol.chain == "solana"


def test_external_user_is_an_external_credential_with_the_idp_subject() -> None:
    [cred] = verified_credentials(user(external_id="idp-42", email="x@example.com"))
    assert cred.format == "externalUser" and cred.public_identifier == "idp-42" and cred.sign_in_enabled


def test_sign_in_credential_ids_are_stable_and_per_user() -> None:
    assert sign_in_credential_id(user()) == sign_in_credential_id(user())
    assert sign_in_credential_id(user()) != sign_in_credential_id(user(id="u-2"))


def test_settings_document_has_dynamics_sections_and_no_nulls() -> None:
    settings = EnvironmentSettings.parse(
        {"security": {"mfa": {"methods": [{"type": "totp", "enabled": True}, {"type": "passkey", "enabled": False}]}}}
    )
    doc = project_settings("Acme", settings, chains=["EVM", "SOL"])
    assert doc["chains"] == [{"name": "evm", "enabled": True}, {"name": "solana", "enabled": True}]
    assert doc["kyc"] == [] and doc["general"] == {"displayName": "Acme"} and doc["privacy"] == {"collectIp": True}
    assert doc["security"]["mfa"]["availableMethods"] == ["totp"]
    assert "jwksUrl" not in doc["security"]["externalAuth"]

    def nulls(value: object) -> bool:
        if isinstance(value, dict):
            return any(v is None or nulls(v) for v in value.values())
        return isinstance(value, list) and any(nulls(v) for v in value)

    assert not nulls(doc)


# -- Dynamic's wallet:delegate scope --------------------------------------------------------------
def _claims(scope: str) -> dict[str, object]:
    return {"sub": "u", "sid": "s", "scope": scope, "exp": int(NOW.timestamp()) + 60}


@pytest.mark.parametrize("action_scope", ["wallet:refresh", "wallet:reshare"])
def test_wallet_delegate_token_covers_refresh_and_reshare(action_scope: str) -> None:
    check_elevated_claims(_claims("wallet:delegate"), user_id="u", session_id="s", scope=action_scope, now=NOW,
                          approval_digest=None)


@pytest.mark.parametrize("other", ["wallet:sign", "wallet:export", "user:update", "credential:unlink"])
def test_wallet_delegate_token_covers_nothing_else(other: str) -> None:
    with pytest.raises(TokenRefusal, match="wrong_scope"):
        check_elevated_claims(_claims("wallet:delegate"), user_id="u", session_id="s", scope=other, now=NOW,
                              approval_digest=None)


def test_finer_scopes_do_not_cover_each_other() -> None:
    with pytest.raises(TokenRefusal, match="wrong_scope"):
        check_elevated_claims(_claims("wallet:refresh"), user_id="u", session_id="s", scope="wallet:reshare",
                              now=NOW, approval_digest=None)


def test_wallet_delegate_grant_is_the_strictest_of_refresh_and_reshare() -> None:
    assert validate_requested_scopes(["wallet:delegate"]) == ("wallet:delegate",)
    default = grant_for_scopes(MfaSettings(), ("wallet:delegate",))
    assert default.single_use and default.ttl_seconds == 300
    settings = MfaSettings(actions=[
        MfaActionSetting(action=MFAAction.WALLET_WAAS_REFRESH, tokenBehavior=TokenBehavior.TIME_BOUND,
                         tokenExpirySeconds=900),
        MfaActionSetting(action=MFAAction.WALLET_WAAS_RESHARE, tokenBehavior=TokenBehavior.TIME_BOUND,
                         tokenExpirySeconds=600),
    ])
    bound = grant_for_scopes(settings, ("wallet:delegate",))
    assert not bound.single_use and bound.ttl_seconds == 600
