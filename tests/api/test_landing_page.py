"""``GET /`` is a small landing page linking the dashboard, the API docs and health (issue 12)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_landing_page_links_dashboard_docs_and_health(app_client: TestClient) -> None:
    r = app_client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for href in ('href="/dashboard"', 'href="/docs"', 'href="/health"'):
        assert href in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
