"""Mounting the hot routers first (``api/app.py``, ``MATCHED_FIRST``) must not change which route
answers a request: FastAPI takes the first route whose path and method match, so a path of a router
mounted earlier than before must not also be a path of a router it now precedes (today no path of
one router is a path of another at all, in any order; this keeps it so for the hot ones)."""

from __future__ import annotations

import importlib
import re

from starlette.routing import BaseRoute, compile_path

from actionmfa.api.app import ROUTERS, mounting_order

Candidate = tuple[re.Pattern[str], set[str], str]


def _routes(order: list[tuple[str, str]]) -> list[Candidate]:
    out: list[Candidate] = []
    for name, prefix in order:
        for route in importlib.import_module(name).router.routes:
            out.append(_candidate(route, prefix))
    return out


def _candidate(route: BaseRoute, prefix: str) -> Candidate:
    path = prefix + str(getattr(route, "path", ""))
    regex, _, _ = compile_path(path)
    methods = set(getattr(route, "methods", None) or {"GET"})
    return regex, methods, path


def _sample(path: str) -> str:
    """A concrete path of a template: each ``{name}`` (or ``{name:path}``) replaced by a segment."""
    return re.sub(r"\{[^}]+\}", "sample-value", path)


def _answering(routes: list[Candidate], path: str, method: str) -> str | None:
    for regex, methods, template in routes:
        if regex.match(path) and method in methods:
            return template
    return None


def test_every_route_is_answered_by_the_same_route_in_mounting_order() -> None:
    documented, mounted = _routes(list(ROUTERS)), _routes(mounting_order())
    assert sorted(t for _, _, t in documented) == sorted(t for _, _, t in mounted)
    assert mounting_order() != list(ROUTERS)  # the hot routers do come first
    checked = 0
    for _, methods, template in documented:
        for method in methods:
            sample = _sample(template)
            assert _answering(mounted, sample, method) == _answering(documented, sample, method), (method, sample)
            checked += 1
    assert checked > 80


def test_the_hot_paths_are_among_the_first_routes() -> None:
    mounted = [t for _, _, t in _routes(mounting_order())]
    for hot in ("/health", "/api/v0/sdk/{environmentId}/users/mfa/auth/totp",
                "/api/v0/sdk/{environmentId}/users/mfa/auth/recovery",
                "/api/v0/sdk/{environmentId}/users/mfa/auth/passkey", "/api/v0/sdk/{environmentId}/users"):
        assert mounted.index(hot) < 30, hot
