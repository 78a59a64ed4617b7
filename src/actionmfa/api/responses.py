"""The error answers each route declares in the OpenAPI document (every one an :class:`ErrorBody`).

The one handler (``api/errors.py``) answers every failure as ``{"error", "code"[, "field",
"payload"]}``; a route lists here the statuses its dependencies and its use case can produce, so the
document names each answer a client can see (Schemathesis checks it in ``tests/openapi``). Every
route also has 413 and 422 (the body limits and request validation run before any route).
"""

from __future__ import annotations

from typing import Any

from actionmfa.api.schemas import ErrorBody

DESCRIPTIONS: dict[int, str] = {
    401: "No valid session (or admin token, or API key) was presented",
    403: "The session or token may not do this: MFA is required, or a proof is missing or invalid",
    404: "The environment, user or record does not exist (or is not the caller's)",
    409: "The request conflicts with the current state",
    410: "The one-time verification has expired or was used",
    413: "The request body is larger than the server accepts",
    422: "The request is not valid (a field is named in `field`), or a code or proof was not accepted",
    423: "The wallet is locked",
    429: "Too many attempts or requests: wait before trying again",
    503: "A service the request needs (mail delivery, the identity provider's keys, the database) is unavailable",
}

Responses = dict[int | str, dict[str, Any]]


def errors(*statuses: int) -> Responses:
    """``responses=`` for a route or router: each status answered with :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses}


# What the dependencies add (api/deps.py): every SDK route names an environment; a session route
# can be refused its session; a full-scope route a session still waiting for MFA.
SDK = errors(404)
SESSION = errors(401, 404)
FULL_SESSION = errors(401, 403, 404)
ADMIN = errors(401, 403, 404)


def links(status: int, **targets: dict[str, str]) -> dict[str, object]:
    """``openapi_extra=`` naming the operations an answer leads to (OpenAPI links: Schemathesis's
    stateful phase and generators follow them). ``targets``: operationId → {parameter: expression}."""
    return {"responses": {str(status): {"links": {
        f"to_{op}": {"operationId": op, "parameters": parameters} for op, parameters in targets.items()}}}}
