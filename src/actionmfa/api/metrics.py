"""Prometheus metrics (``GET /metrics``, prometheus-client).

What is counted, and where it comes from:

* ``actionmfa_http_requests_total{method,route,status}`` and the latency histogram
  ``actionmfa_http_request_duration_seconds{method,route}``: by the request middleware
  (:mod:`actionmfa.api.observability`), labelled with the **route template**
  (``/api/v0/sdk/{environmentId}/users/mfa/auth/totp``), never the raw path; requests no route
  matched are ``route="<unmatched>"`` so scanners cannot grow the label set.
* ``actionmfa_gate_decisions_total{action,outcome}``, ``actionmfa_mfa_failures_total{factor}``,
  ``actionmfa_mfa_lockouts_total{factor}``, ``actionmfa_webhook_deliveries_total{outcome}`` and
  ``actionmfa_audit_events_total{event}``: from the audit rows each transaction committed
  (``Database.audit_observers``), so a metric counts exactly what the audit log holds.
* Gauges read at scrape time: ``actionmfa_wallet_ceremonies_open`` (the database: wallet ceremonies
  neither completed nor expired, every worker's), ``actionmfa_wallet_key_pool_depth`` (Paillier
  keys ready in each worker's pool; summed over live workers), ``actionmfa_webhook_backlog``
  (deliveries waiting: the delegation webhook is delivered synchronously today, so this is the hook
  an outbox fills in — :attr:`Metrics.webhook_backlog`).

Several workers (``--workers N``): prometheus-client's multiprocess mode. ``PROMETHEUS_MULTIPROC_DIR``
names a directory every worker writes its samples to (memory-mapped files); whichever worker answers
the scrape merges them. ``actionmfa serve`` sets it to ``<data dir>/prometheus`` (emptied at start)
when more than one worker runs and the operator has not set it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
_POOL_REFRESH_SECONDS = 1.0
_MAX_REQUEST_CHILDREN = 4096


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class _ScrapeGauges(Collector):
    """Gauges that are facts of the shared database, computed by the worker that answers."""

    def __init__(self, ceremonies_open: Callable[[], int], webhook_backlog: Callable[[], int]) -> None:
        self.ceremonies_open = ceremonies_open
        self.webhook_backlog = webhook_backlog

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            open_now = float(self.ceremonies_open())
        except Exception:  # database unreachable: the scrape still answers (readiness says why)
            open_now = math.nan
        yield GaugeMetricFamily(
            "actionmfa_wallet_ceremonies_open",
            "Wallet ceremonies neither completed nor expired (all workers).",
            value=open_now,
        )
        yield GaugeMetricFamily(
            "actionmfa_webhook_backlog",
            "Webhook deliveries waiting (0 while deliveries are synchronous).",
            value=self.webhook_backlog(),
        )


def _factor(row: Mapping[str, Any]) -> str:
    """The code route (``totp``, ``recovery``, ``email``) or, for passkeys, ``passkey``."""
    details = row.get("details") or {}
    method = details.get("method") if isinstance(details, Mapping) else None
    return str(row.get("action") or method or "unknown")


class Metrics:
    """One app's metrics. In multiprocess mode the samples live in the shared directory and the
    registry is built per scrape; otherwise each app has its own registry (tests build many apps)."""

    def __init__(
        self,
        *,
        ceremonies_open: Callable[[], int],
        pool_depth: Callable[[], int],
        webhook_backlog: Callable[[], int] | None = None,
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the scrape and nobody graphs them
        self.multiprocess = multiprocess_mode()
        self.registry: CollectorRegistry | None = None if self.multiprocess else CollectorRegistry()
        reg = self.registry
        self.pool_depth = pool_depth
        self.webhook_backlog: Callable[[], int] = webhook_backlog or (lambda: 0)
        self._scrape_gauges = _ScrapeGauges(ceremonies_open, lambda: self.webhook_backlog())
        if reg is not None:
            reg.register(self._scrape_gauges)
        self.requests = Counter(
            "actionmfa_http_requests_total", "HTTP requests by route template and status.",
            ["method", "route", "status"], registry=reg,
        )
        self.latency = Histogram(
            "actionmfa_http_request_duration_seconds", "Request latency by route template.",
            ["method", "route"], registry=reg,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.gate = Counter(
            "actionmfa_gate_decisions_total", "Gate decisions by action and outcome (allow or the error code).",
            ["action", "outcome"], registry=reg,
        )
        self.mfa_failures = Counter(
            "actionmfa_mfa_failures_total", "Failed MFA authentications by factor/route.", ["factor"], registry=reg,
        )
        self.lockouts = Counter(
            "actionmfa_mfa_lockouts_total", "Code lockouts started, by the route that tripped them.",
            ["factor"], registry=reg,
        )
        self.webhooks = Counter(
            "actionmfa_webhook_deliveries_total", "Webhook deliveries by outcome.", ["outcome"], registry=reg,
        )
        self.audit_events = Counter(
            "actionmfa_audit_events_total", "Audit events written, by event.", ["event"], registry=reg,
        )
        self.pool = Gauge(
            "actionmfa_wallet_key_pool_depth", "Paillier keys ready in the wallet key pool (summed over workers).",
            registry=reg, multiprocess_mode="livesum",
        )
        self._pool_checked = 0.0
        # (method, route, status) -> the two children it counts in: ``labels()`` takes a lock and
        # builds the label tuple on every call, and every request calls it (issue 15). The routes are
        # templates, but a method is whatever the client sent: past this many keys, no more caching.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # -- fed by the request middleware and the audit observer --------------------------------------
    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            if len(self._request_children) < _MAX_REQUEST_CHILDREN:
                self._request_children[key] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)
        now = time.monotonic()
        if now - self._pool_checked >= _POOL_REFRESH_SECONDS:  # at most once a second per worker
            self._pool_checked = now
            self.pool.set(self.pool_depth())

    def observe_audit(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            event = str(row.get("event"))
            self.audit_events.labels(event).inc()
            if event in ("gate.allowed", "gate.denied"):
                self.gate.labels(str(row.get("action")), str(row.get("outcome"))).inc()
            elif event == "mfa.auth_failed":
                self.mfa_failures.labels(_factor(row)).inc()
            elif event == "mfa.locked_out":
                self.lockouts.labels(_factor(row)).inc()
            elif event == "wallet.delegation_delivered":
                self.webhooks.labels("delivered").inc()
            elif event == "wallet.delegation_delivery_failed":
                self.webhooks.labels("failed").inc()

    # -- the scrape ------------------------------------------------------------------------------
    def exposition(self) -> bytes:
        self.pool.set(self.pool_depth())
        if self.registry is not None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._scrape_gauges)
        return generate_latest(registry)
