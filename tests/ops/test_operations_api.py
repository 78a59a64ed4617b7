"""``/metrics`` access and labels, the request id, and ``/health/ready`` (issue 11 item 6), in-process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from actionmfa.api.app import create_app, warm_routes
from actionmfa.api.observability import fastapi_telemetry
from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.conftest import EnvFixture


def test_metrics_are_for_loopback_only_without_a_token(app_client: TestClient) -> None:
    r = app_client.get("/metrics")  # the test client's peer is "testclient", not a loopback address
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_metrics_token_is_checked(runtime: Runtime) -> None:
    runtime.config = replace(runtime.config, metrics_token="t0ken-for-scrapes")
    with TestClient(create_app(runtime, migrate=False)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-scrape"}).status_code == 401
        r = client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-scrapes"})
        assert r.status_code == 200
        assert "actionmfa_wallet_ceremonies_open 0.0" in r.text


def test_routes_are_labelled_by_template_and_scans_by_one_label(runtime: Runtime, environment: EnvFixture) -> None:
    runtime.config = replace(runtime.config, metrics_token="t0ken-for-scrapes")
    with TestClient(create_app(runtime, migrate=False)) as client:
        client.get(environment.sdk("/sdk/settings"))
        client.get(f"/api/v0/sdk/{environment.id}/settings")
        for n in range(3):
            client.get(f"/scanner/probe-{n}.php")
        body = client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-scrapes"}).text
    assert 'route="/api/v0/sdk/{environmentId}/settings"' in body
    assert environment.id not in body and "probe-" not in body
    assert 'actionmfa_http_requests_total{method="GET",route="<unmatched>",status="404"} 4.0' in body


def test_request_id_is_echoed_only_when_plain(app_client: TestClient) -> None:
    assert app_client.get("/health", headers={"X-Request-ID": "req-42.a_b"}).headers["x-request-id"] == "req-42.a_b"
    for odd in ("x" * 65, "a b", "id\u00e9"):
        got = app_client.get("/health", headers={"X-Request-ID": odd.encode()})
        assert got.headers["x-request-id"] != odd and len(got.headers["x-request-id"]) == 32
    first, second = (app_client.get("/health").headers["x-request-id"] for _ in range(2))
    assert first != second


def test_ready_when_migrated_and_pool_warm_enough(runtime: Runtime, app_client: TestClient) -> None:
    """The runtime's config warms the pool, so readiness wants one key in it (ACTIONMFA_READY_MIN_KEYS)."""
    r = app_client.get("/health/ready")
    assert r.status_code == 503
    assert r.json()["keyPool"] == {"depth": 0, "size": 4, "required": 1, "ready": False}
    keys = runtime.services.wallets.keys
    keys.use(lambda: None, size=1)  # type: ignore[arg-type, return-value]
    keys.start().put(None)  # type: ignore[arg-type]
    r = app_client.get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json()["keyPool"] == {"depth": 1, "size": 1, "required": 1, "ready": True}
    keys.close()


def test_not_ready_before_migrations_or_with_a_cold_pool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    config = ServerConfig(data_dir=tmp_path, mail_log=True, ready_min_keys=1)
    runtime = Runtime.build(config, clock=FrozenClock(), keyring=Keyring.generate(), db=Database(url))
    try:
        with TestClient(create_app(runtime, migrate=False)) as client:
            assert client.get("/health").status_code == 200  # alive
            r = client.get("/health/ready")
            assert r.status_code == 503
            doc = r.json()
            assert doc["ready"] is False and doc["database"] == "ok"
            assert doc["migrations"]["current"] is None and doc["migrations"]["atHead"] is False
            assert doc["keyPool"]["ready"] is False and doc["keyPool"]["required"] == 1
        runtime.db.migrate()
        with TestClient(create_app(runtime, migrate=False)) as client:
            doc = client.get("/health/ready").json()
            assert doc["migrations"]["atHead"] is True and doc["ready"] is False  # the pool is still cold
    finally:
        runtime.db.dispose()


def test_repeated_requests_count_in_the_same_series(runtime: Runtime, environment: EnvFixture) -> None:
    """The request metrics' children are cached per (method, route, status): counts still add up."""
    runtime.config = replace(runtime.config, metrics_token="t0ken-for-scrapes")
    with TestClient(create_app(runtime, migrate=False)) as client:
        for _ in range(3):
            client.get(f"/api/v0/sdk/{environment.id}/settings")
        client.get("/scanner/probe.php", headers={"X-Request-ID": "one"})
        body = client.get("/metrics", headers={"Authorization": "Bearer t0ken-for-scrapes"}).text
    route = "/api/v0/sdk/{environmentId}/settings"
    assert f'actionmfa_http_requests_total{{method="GET",route="{route}",status="200"}} 3.0' in body
    assert f'actionmfa_http_request_duration_seconds_count{{method="GET",route="{route}"}} 3.0' in body
    assert 'actionmfa_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in body


def test_fastapi_telemetry_is_off_unless_opentelemetry_is_set_up() -> None:
    assert fastapi_telemetry(["PATH", "ACTIONMFA_DATA_DIR"]) == {"tracing": False, "metrics": False, "logs": False}
    assert fastapi_telemetry(["PATH", "OTEL_EXPORTER_OTLP_ENDPOINT"]) is None
    assert fastapi_telemetry(["FASTAPI_OTEL_AUTO_CONFIGURE"]) is None


def test_routes_built_before_the_first_request_still_answer(runtime: Runtime, environment: EnvFixture) -> None:
    app = create_app(runtime, migrate=False)
    warm_routes(app)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get(f"/api/v0/sdk/{environment.id}/settings").status_code == 200
        assert client.get("/no/such/route").status_code == 404
