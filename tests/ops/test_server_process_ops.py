"""A real ``actionmfa serve`` process (issue 11 item 6): the JSON request log after a whole MFA story
holds no secret, token, code or email; ``/metrics`` counts the story; ``/health/ready``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from actionmfa.clock import SystemClock
from actionmfa.errors import ActionMFAError
from actionmfa.factors import totp
from actionmfa.sdk import Client
from tests.mailsink import SmtpSink
from tests.ops.served import METRICS_TOKEN, Served, start_server, stop


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def server(tmp_path: Path, smtp: SmtpSink) -> Iterator[Served]:
    served = start_server(
        tmp_path / "data",
        tmp_path / "server.log",
        {"ACTIONMFA_SMTP_HOST": "127.0.0.1", "ACTIONMFA_SMTP_PORT": str(smtp.port)},
    )
    yield served
    stop(served)


def _story(server: Served, smtp: SmtpSink) -> list[str]:
    """Sign in by email, enrol TOTP, authenticate, mint and spend MFA tokens, use a recovery code,
    fail once; return every secret the story saw."""
    boot = json.loads((server.data_dir / "bootstrap.json").read_text())
    email = "secret-person@example.org"
    seen: list[str] = [email, boot["adminToken"]]
    clock = SystemClock()
    with Client(boot["environmentId"], base_url=server.url) as client:
        client.auth.email.send_code(email)
        code = smtp.last().code()
        seen.append(code)
        client.auth.email.verify(code)
        setup = client.mfa.add_device()
        seen.append(setup.secret)
        first = totp.code_at(setup.secret, clock.now())
        client.mfa.verify_device(first)
        seen.append(first)
        codes = client.mfa.get_recovery_codes()
        seen += codes
        with pytest.raises(ActionMFAError):
            client.mfa.authenticate_device(code="000000" if first != "000000" else "111111")
        second = totp.code_at(setup.secret, clock.now() + timedelta(seconds=30))
        token = client.mfa.authenticate_device(code=second, create_mfa_token={"singleUse": True})
        seen.append(second)
        assert token
        seen.append(token)
        seen += client.mfa.get_new_recovery_codes()  # gated (credential:update): spends the token
        recovery_token = client.mfa.authenticate_recovery_code(code=seen[-1], create_mfa_token={"singleUse": False})
        assert recovery_token
        seen.append(recovery_token)
        assert client.session.jwt
        seen.append(client.session.jwt)
        client.auth.logout()
    return seen


def test_logs_hold_no_secret_after_a_whole_mfa_story(server: Served, smtp: SmtpSink) -> None:
    secrets_seen = _story(server, smtp)
    stop(server)
    text = server.log.read_text()
    for secret in secrets_seen:
        assert secret not in text, f"a secret of the story is in the log: {secret[:6]}…"
    assert "eyJ" not in text  # no JWT at all
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    requests = [doc for doc in lines if doc.get("msg") == "request"]
    assert len(requests) >= 8
    for doc in requests:
        assert set(doc) >= {"ts", "level", "requestId", "method", "route", "status", "durationMs"}
        assert "{environmentId}" in doc["route"] or doc["route"].startswith("/health")
    assert len({doc["requestId"] for doc in requests}) == len(requests)


def test_metrics_count_the_story_and_need_the_token(server: Served, smtp: SmtpSink) -> None:
    _story(server, smtp)
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    body = r.text
    route = "/api/v0/sdk/{environmentId}/users/mfa/auth/totp"
    assert f'actionmfa_http_request_duration_seconds_count{{method="POST",route="{route}"}}' in body
    assert 'actionmfa_mfa_failures_total{factor="totp"} 1.0' in body
    assert 'actionmfa_gate_decisions_total{action="credential:update",outcome="allow"}' in body
    for gauge in ("actionmfa_wallet_key_pool_depth", "actionmfa_wallet_ceremonies_open", "actionmfa_webhook_backlog"):
        assert f"\n{gauge} " in body


def test_ready_is_apart_from_liveness(server: Served) -> None:
    r = httpx.get(f"{server.url}/health/ready")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["ready"] is True and doc["database"] == "ok" and doc["migrations"]["atHead"] is True
    assert doc["migrations"]["current"] == doc["migrations"]["head"]


def _health_count(url: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    body = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30).text
    total = 0.0
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "actionmfa_http_requests_total" and sample.labels.get("route") == "/health":
                total += sample.value
    return total


def test_two_workers_report_one_sum(tmp_path: Path) -> None:
    """``--workers 2``: whichever worker answers the scrape reports both workers' requests."""
    served = start_server(tmp_path / "data", tmp_path / "server.log", args=("--workers", "2"))
    try:
        before = _health_count(served.url)
        with httpx.Client(base_url=served.url, timeout=30) as client:
            for _ in range(20):
                client.get("/health", headers={"Connection": "close"})  # new connection: either worker
        for _ in range(4):  # every scrape, by whichever worker, sees all 20
            assert _health_count(served.url) - before == 20
    finally:
        stop(served)
    assert (tmp_path / "data" / "prometheus").is_dir()
    # every line of stderr is JSON, the start-up warnings (no mail configured here) included
    lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.strip()]
    warnings = [doc for doc in lines if doc["logger"] == "actionmfa.startup"]
    assert warnings and {doc["level"] for doc in warnings} == {"warning"}
    assert "ACTIONMFA_SMTP_HOST" in " ".join(doc["msg"] for doc in warnings)
