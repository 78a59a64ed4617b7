"""``client.auth``: primary sign-in (email one-time code, external JWT), refresh and logout.

::

    client.auth.email.send_code("alice@example.com")   # mails a 6-digit code
    result = client.auth.email.verify("123456")          # remembers the verificationUUID
    result.user.scope                                     # "requiresAdditionalAuth" if session MFA is due
    if result.pending_wallet_actions:                     # the operator approved/revoked delegation
        client.wallets.complete_pending()
    client.auth.external.sign_in(my_idp_jwt)
    client.auth.logout()

A successful sign-in keeps the session on the client (``client.set_session``); the client
refreshes it shortly before it expires. Failures raise the server's own error classes
(``InvalidVerificationCodeError``, ``VerificationExpiredError``, ``UnauthorizedError`` …).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actionmfa.errors import ActionMFAError, InvalidRequestError
from actionmfa.sdk.users import SdkUser

if TYPE_CHECKING:
    from actionmfa.sdk.transport import Transport


@dataclass(frozen=True)
class SignInResult:
    """A ``VerifyResponse``: the session JWT, its expiry (unix seconds) and the user."""

    jwt: str
    expires_at: int
    user: SdkUser

    @property
    def mfa_pending(self) -> bool:
        """True while session-based MFA still has to be completed (``client.mfa`` / passkeys)."""
        return self.user.scope == "requiresAdditionalAuth"

    @property
    def pending_wallet_actions(self) -> dict[str, str]:
        """The operator's pending delegation decisions on this user's wallets (wallet id → action),
        learnt at sign-in: run ``client.wallets.complete_pending()`` when it is not empty."""
        return self.user.pending_wallet_actions

    @classmethod
    def of(cls, body: dict[str, Any]) -> SignInResult:
        return cls(jwt=str(body["jwt"]), expires_at=int(body["expiresAt"]), user=SdkUser(body["user"]))


def _accept(client: Transport, body: dict[str, Any]) -> SignInResult:
    client.tokens.clear()  # tokens of a previous session are useless with the new one
    client.set_session(body)
    return SignInResult.of(body)


class EmailAuth:
    def __init__(self, client: Transport) -> None:
        self._c = client
        self._lock = threading.Lock()
        self.verification_uuid: str | None = None

    def send_code(self, email: str) -> str:
        """Mail a one-time code to ``email``; returns (and remembers) the ``verificationUUID``."""
        body = self._c.request("POST", "/emailVerifications/create", json={"email": email}, authenticated=False)
        with self._lock:
            self.verification_uuid = str(body["verificationUUID"])
            return self.verification_uuid

    def verify(self, code: str, *, verification_uuid: str | None = None) -> SignInResult:
        """Sign in with the code from the mail (for the last ``send_code`` unless one is given)."""
        with self._lock:
            vid = verification_uuid or self.verification_uuid
        if vid is None:
            raise InvalidRequestError("send_code() first (no verificationUUID)", field="verificationUUID")
        body = self._c.request(
            "POST",
            "/emailVerifications/signin",
            json={"verificationUUID": vid, "verificationToken": code},
            authenticated=False,
        )
        with self._lock:
            if self.verification_uuid == vid:
                self.verification_uuid = None  # spent
        return _accept(self._c, body)


class ExternalAuth:
    def __init__(self, client: Transport) -> None:
        self._c = client

    def sign_in(self, jwt: str) -> SignInResult:
        """Exchange a JWT from the developer's own auth for an ActionMFA session."""
        body = self._c.request("POST", "/externalAuth/signin", json={"jwt": jwt}, authenticated=False)
        return _accept(self._c, body)


class AuthResource:
    def __init__(self, client: Transport) -> None:
        self._c = client
        self.email = EmailAuth(client)
        self.external = ExternalAuth(client)

    @property
    def signed_in(self) -> bool:
        return self._c.session.jwt is not None

    def refresh(self) -> SignInResult:
        """Extend the session now (the client also does this on its own shortly before expiry)."""
        body = self._c.request("POST", "/refresh", refresh=False)
        self._c.set_session(body)
        return SignInResult.of(body)

    def logout(self) -> None:
        """End the session on the server (every MFA token of it dies too) and forget it locally."""
        try:
            if self._c.session.jwt:
                self._c.request("POST", "/logout", refresh=False)
        except ActionMFAError as err:
            if err.status_code != 401:  # already dead: nothing left to end
                raise
        finally:
            self._c.session.clear()
            self._c.tokens.clear()
