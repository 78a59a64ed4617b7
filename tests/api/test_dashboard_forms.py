"""Dashboard without a browser: cookie session, CSRF, and settings form parsing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from actionmfa.domain.actions import MFAAction
from actionmfa.domain.settings import EnvironmentSettings
from actionmfa.services.operator.dashboard import COOKIE_NAME, settings_from_form
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture


def test_dashboard_requires_sign_in(app_client: TestClient) -> None:
    r = app_client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"


def test_forged_cookie_is_refused(app_client: TestClient) -> None:
    app_client.cookies.set(COOKIE_NAME, "v1.k1.AAAA.BBBB", path="/dashboard")
    r = app_client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303


def test_post_without_csrf_changes_nothing(app_client: TestClient, runtime: Runtime, environment: EnvFixture) -> None:
    r = app_client.post("/dashboard/login", data={"adminToken": environment.admin_token}, follow_redirects=False)
    assert r.status_code == 303
    r = app_client.post(
        f"/dashboard/environments/{environment.id}",
        data={"action.wallet.waas.sign.required": "on", "mfa.enrollment": "none", "csrf": "forged"},
    )
    assert r.status_code == 403
    with runtime.db.read() as uow:
        env = runtime.environments.get(uow, environment.id)
    assert env.settings.security.mfa.action(MFAAction.WALLET_WAAS_SIGN).required is False


def test_rotated_admin_token_ends_dashboard_session(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture
) -> None:
    app_client.post("/dashboard/login", data={"adminToken": environment.admin_token}, follow_redirects=False)
    assert app_client.get("/dashboard", follow_redirects=False).status_code == 200
    r = app_client.post(
        f"/api/v0/environments/{environment.id}/adminToken/rotate",
        headers={"Authorization": f"Bearer {environment.admin_token}"},
    )
    assert r.status_code == 200
    assert app_client.get("/dashboard", follow_redirects=False).status_code == 303


def test_settings_form_round_trip() -> None:
    form = {
        "mfa.enabled": "on",
        "mfa.enrollment": "signup",
        "method.totp": "on",
        "action.wallet.waas.export.required": "on",
        "action.wallet.waas.export.tokenBehavior": "time_bound",
        "action.wallet.waas.export.tokenExpirySeconds": "900",
        "passkeys.rpId": "example.com",
        "passkeys.rpName": "Example",
        "passkeys.origins": "https://example.com\nhttps://app.example.com\n",
        "jwtDuration.amount": "2",
        "jwtDuration.unit": "days",
    }
    parsed = EnvironmentSettings.parse(settings_from_form(EnvironmentSettings(), form))
    mfa = parsed.security.mfa
    assert mfa.enabled and mfa.required
    assert mfa.method_enabled(mfa.methods[0].type) and not mfa.methods[1].enabled
    export = mfa.action(MFAAction.WALLET_WAAS_EXPORT)
    assert export.required and export.effective_behavior().value == "time_bound" and export.tokenExpirySeconds == 900
    assert parsed.security.passkeys.origins == ["https://example.com", "https://app.example.com"]
    assert parsed.security.jwtDuration.seconds() == 2 * 86_400


def test_odd_numbers_in_the_form_are_refused_by_field(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture
) -> None:
    app_client.post("/dashboard/login", data={"adminToken": environment.admin_token}, follow_redirects=False)
    page = app_client.get(f"/dashboard/environments/{environment.id}").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    for odd in ("²", "9" * 5000, "-5", "1e3", "٣"):
        r = app_client.post(
            f"/dashboard/environments/{environment.id}",
            data={
                "csrf": csrf,
                "mfa.enrollment": "none",
                "action.wallet.waas.sign.required": "on",
                "action.wallet.waas.sign.tokenExpirySeconds": odd,
                "jwtDuration.amount": "24",
                "jwtDuration.unit": "hours",
                "passkeys.rpId": "localhost",
                "passkeys.rpName": "x",
                "passkeys.origins": "http://localhost:8080",
            },
        )
        assert r.status_code == 422, (odd, r.status_code)
        assert "tokenExpirySeconds" in r.text
    with runtime.db.read() as uow:
        env = runtime.environments.get(uow, environment.id)
    assert env.settings.security.mfa.action(MFAAction.WALLET_WAAS_SIGN).required is False
