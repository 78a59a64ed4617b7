"""The Python SDK: ``Client`` (sync, httpx) and ``AsyncClient`` with the same surface.

Resources hang off the client as attributes (``client.auth``, ``client.users``, ``client.mfa``,
``client.step_up``, ``client.passkeys``, ``client.wallets``, ``client.ui``), each typed against the
one :class:`~actionmfa.sdk.transport.Transport` that this client implements. Errors come back as
the server's own exception classes (:mod:`actionmfa.sdk.errors`), carrying ``status_code``,
``code`` and the request id. :class:`~actionmfa.sdk.async_client.AsyncClient` has the same surface,
awaitable.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from actionmfa.errors import ActionMFAError, UnauthorizedError, error_from_body
from actionmfa.sdk.tokens import TokenStore
from actionmfa.sdk.transport import JSON, SessionState

if TYPE_CHECKING:
    from actionmfa.sdk.auth import AuthResource
    from actionmfa.sdk.mfa import MfaResource
    from actionmfa.sdk.passkeys import PasskeysResource
    from actionmfa.sdk.step_up import StepUpResource
    from actionmfa.sdk.ui import UiResource
    from actionmfa.sdk.users import UsersResource
    from actionmfa.sdk.wallets import WalletsResource

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_RID_ALPHABET = string.ascii_letters + string.digits


class Client:
    """Synchronous client for one environment.

    ``http_client`` lets tests pass an ``httpx.Client`` bound to the ASGI app (e.g. FastAPI's
    ``TestClient``); otherwise one is created for ``base_url``.
    """

    def __init__(
        self,
        environment_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        refresh_margin_seconds: int = 60,
    ) -> None:
        self.environment_id = environment_id
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.refresh_margin_seconds = refresh_margin_seconds
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(base_url=self.base_url, timeout=timeout)
        self.session = SessionState()
        self.tokens = TokenStore()
        self._refresh_lock = threading.Lock()

    # -- resources ---------------------------------------------------------------------------
    @cached_property
    def auth(self) -> AuthResource:
        from actionmfa.sdk.auth import AuthResource

        return AuthResource(self)

    @cached_property
    def users(self) -> UsersResource:
        from actionmfa.sdk.users import UsersResource

        return UsersResource(self)

    @cached_property
    def mfa(self) -> MfaResource:
        from actionmfa.sdk.mfa import MfaResource

        return MfaResource(self)

    @cached_property
    def step_up(self) -> StepUpResource:
        from actionmfa.sdk.step_up import StepUpResource

        return StepUpResource(self, self.mfa)

    @cached_property
    def passkeys(self) -> PasskeysResource:
        from actionmfa.sdk.passkeys import PasskeysResource

        return PasskeysResource(self)

    @cached_property
    def wallets(self) -> WalletsResource:
        from actionmfa.sdk.wallets import WalletsResource

        return WalletsResource(self)

    @cached_property
    def ui(self) -> UiResource:
        from actionmfa.sdk.ui import UiResource

        ui: UiResource | None = self.__dict__.get("_ui")
        if ui is None:  # one per client: its input/out settings are kept
            ui = self.__dict__["_ui"] = UiResource(self)
        return ui

    # -- session ----------------------------------------------------------------------------
    def set_session(self, verify_response: Mapping[str, Any]) -> None:
        """Keep the session from a ``VerifyResponse`` (and any tokens it minted)."""
        self.session.jwt = verify_response.get("jwt") or self.session.jwt
        self.session.expires_at = verify_response.get("expiresAt") or self.session.expires_at
        if isinstance(verify_response.get("user"), dict):
            self.session.user = verify_response["user"]

    def _maybe_refresh(self) -> None:
        exp = self.session.expires_at
        if not self.session.jwt or exp is None or exp - time.time() > self.refresh_margin_seconds:
            return
        with self._refresh_lock:
            if self.session.expires_at and self.session.expires_at - time.time() > self.refresh_margin_seconds:
                return
            body = self.request("POST", "/refresh", refresh=False)
            self.set_session(body)

    # -- transport --------------------------------------------------------------------------
    def sdk_path(self, path: str) -> str:
        return f"/api/v0/sdk/{self.environment_id}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        authenticated: bool = True,
        scope: str | None = None,
        include_mfa_token: bool = False,
        headers: Mapping[str, str] | None = None,
        refresh: bool = True,
        absolute: bool = False,
    ) -> JSON:
        """Send one SDK call. ``scope``/``include_mfa_token`` mark it as gated: stored tokens
        are attached and single-use ones dropped once carried."""
        if authenticated and refresh:
            self._maybe_refresh()
        send_headers: dict[str, str] = {"x-dyn-request-id": "".join(secrets.choice(_RID_ALPHABET) for _ in range(32))}
        if authenticated:
            if not self.session.jwt:
                raise UnauthorizedError("Not signed in", status_code=401)
            send_headers["Authorization"] = f"Bearer {self.session.jwt}"
        token_headers, carried = self.tokens.select(scope=scope, include_mfa_token=include_mfa_token)
        send_headers.update(token_headers)
        send_headers.update(headers or {})
        url = path if absolute else self.sdk_path(path)
        response = self._send(method, url, json=json, params=params, headers=send_headers)
        if carried and (response.is_success or _token_rejected(response)):
            self.tokens.spent(carried)
        return self._decode(response, send_headers["x-dyn-request-id"])

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        attempts = 1 + (self.max_retries if method.upper() in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                return self._http.request(method, url, **kwargs)
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(response: httpx.Response, request_id: str) -> JSON:
        if (response.status_code == 204 or not response.content) and response.is_success:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            return body
        raise error_from_body(response.status_code, body, request_id=request_id)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _token_rejected(response: httpx.Response) -> bool:
    try:
        return response.status_code == 403 and response.json().get("code") == "mfa_token_invalid"
    except ValueError:
        return False


__all__ = ["ActionMFAError", "Client", "SessionState"]
