"""HTTP edges a client meets before any route logic (issue 11 item 5).

* an oversized body is answered 413 after the body is drained, so a client that writes the whole
  body before reading (urllib) reads the 413 instead of a connection reset;
* a 405 lists in ``Allow`` every method the path has, as the OpenAPI document does;
* a query integer beyond what the database stores (``cursor=2**63``) is a 422, not a 500.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from actionmfa.api.app import create_app
from actionmfa.services.runtime import Runtime
from tests.conftest import EnvFixture, SignedIn
from tests.live_server import LiveServer, serve

EIGHT_MB = 8 * 1024 * 1024


@pytest.fixture
def live(runtime: Runtime) -> Iterator[LiveServer]:
    with serve(runtime) as server:
        yield server


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_urllib_sending_8_mb_reads_the_413(live: LiveServer, environment: EnvFixture, chunked: bool) -> None:
    url = f"{live.url}{environment.sdk('/emailVerifications/create')}"
    body = b'{"email": "' + b"a" * EIGHT_MB + b'"}'
    data: object = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    headers = {"content-type": "application/json"}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)  # type: ignore[arg-type]  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback test server
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["code"] == "payload_too_large"


def _documented_methods(client: TestClient, template: str) -> set[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return {m.upper() for m in paths[template] if m in {"get", "put", "post", "delete", "patch"}}


@pytest.mark.parametrize(
    ("template", "wrong"),
    [
        ("/api/v0/sdk/{environmentId}/users", "DELETE"),
        ("/api/v0/sdk/{environmentId}/users/mfa/{mfaDeviceId}", "POST"),
        ("/api/v0/sdk/{environmentId}/users/passkeys", "POST"),
        ("/api/v0/sdk/{environmentId}/users/mfa/register/totp", "DELETE"),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    app_client: TestClient, environment: EnvFixture, signed_in_user: SignedIn, template: str, wrong: str
) -> None:
    path = template.replace("{environmentId}", environment.id).replace("{mfaDeviceId}", "some-device")
    r = app_client.request(wrong, path, headers=signed_in_user.headers)
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert allowed == _documented_methods(app_client, template), r.headers["allow"]


def test_audit_cursor_beyond_a_64_bit_integer_is_a_422(app_client: TestClient, environment: EnvFixture) -> None:
    r = app_client.get(
        f"/api/v0/environments/{environment.id}/audit",
        params={"cursor": str(2**63)},
        headers={"Authorization": f"Bearer {environment.admin_token}"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and r.json()["field"] == "query.cursor"


def test_dashboard_audit_cursor_beyond_a_64_bit_integer_is_no_500(runtime: Runtime, environment: EnvFixture) -> None:
    with TestClient(create_app(runtime, migrate=False), raise_server_exceptions=False) as client:
        login = client.post("/dashboard/login", data={"adminToken": environment.admin_token}, follow_redirects=False)
        assert login.status_code in (302, 303), login.text
        r = client.get(f"/dashboard/environments/{environment.id}/audit", params={"cursor": str(2**63)})
    assert r.status_code == 422, r.text[:300]
