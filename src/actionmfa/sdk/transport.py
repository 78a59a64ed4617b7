"""The one transport every SDK resource is typed against.

A resource (``client.mfa``, ``client.wallets`` …) needs only this: send one SDK call with the
session and the stored MFA / elevated tokens attached, and keep a ``VerifyResponse``'s session.
:class:`~actionmfa.sdk.client.Client` implements it; tests may pass anything that does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from actionmfa.sdk.tokens import TokenStore

JSON = Any  # a decoded JSON body: what the server answered, checked by the typed model reading it


@dataclass
class SessionState:
    """The signed-in session: the JWT, its expiry (unix seconds) and the user it belongs to."""

    jwt: str | None = None
    expires_at: int | None = None
    user: dict[str, Any] | None = None

    def clear(self) -> None:
        self.jwt = None
        self.expires_at = None
        self.user = None


class Transport(Protocol):
    @property
    def environment_id(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def session(self) -> SessionState: ...

    @property
    def tokens(self) -> TokenStore: ...

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
        """Send one call (``path`` below ``/api/v0/sdk/{environmentId}`` unless ``absolute``).

        ``scope`` / ``include_mfa_token`` mark a gated call: the stored elevated token for that
        scope, else the MFA token, is attached, and single-use ones are dropped once carried.
        Failures raise the server's own error class (:mod:`actionmfa.sdk.errors`)."""
        ...

    def set_session(self, verify_response: Mapping[str, Any]) -> None:
        """Keep the session of a ``VerifyResponse`` (JWT, expiry, user)."""
        ...
