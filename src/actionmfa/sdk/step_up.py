"""``client.step_up``: is an elevated token needed for a scope, and get one by MFA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from actionmfa.errors import ActionMFAError

if TYPE_CHECKING:
    from actionmfa.sdk.mfa import MfaResource
    from actionmfa.sdk.transport import Transport


@dataclass(frozen=True)
class StepUpCredential:
    """A credential the user can step up with (``format``: ``totp``, ``passkey`` …)."""

    id: str
    format: str
    type: str | None = None
    alias: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> StepUpCredential:
        return cls(id=str(body["id"]), format=str(body["format"]), type=body.get("type"), alias=body.get("alias"))


@dataclass(frozen=True)
class StepUpCheck:
    is_required: bool
    credentials: list[StepUpCredential]
    default_credential_id: str | None


class StepUpResource:
    def __init__(self, client: Transport, mfa: MfaResource) -> None:
        self._c = client
        self._mfa = mfa

    def check(self, scope: str) -> StepUpCheck:
        """``POST /stepUp/check``. Per Dynamic's contract a failed check means "required"."""
        try:
            body = self._c.request("POST", "/stepUp/check", json={"scope": scope})
        except (ActionMFAError, httpx.HTTPError):  # the API says: default to requiring step-up if this endpoint fails
            return StepUpCheck(True, [], None)
        credentials = [StepUpCredential.of(c) for c in body.get("credentials", [])]
        return StepUpCheck(bool(body["isRequired"]), credentials, body.get("defaultCredentialId"))

    def authenticate(
        self,
        *,
        requested_scopes: list[str],
        code: str | None = None,
        recovery_code: str | None = None,
        device_id: str | None = None,
        approval_digest: str | None = None,
    ) -> str | None:
        """Verify TOTP (``code``) or a recovery code and keep the elevated token for the scopes.

        Returns the elevated access token; the next call whose scope it covers carries it.
        """
        if (code is None) == (recovery_code is None):
            raise ValueError("give exactly one of code= or recovery_code=")
        body: dict[str, Any] = {"requestedScopes": list(requested_scopes)}
        if approval_digest:
            body["approvalDigest"] = approval_digest
        if code is not None:
            body["code"] = code
            if device_id:
                body["id"] = device_id
            path = "/users/mfa/auth/totp"
        else:
            body["code"] = recovery_code
            path = "/users/mfa/auth/recovery"
        return self._mfa.send_authentication(path, body, device_id=device_id).elevated_access_token
