"""``client.step_up``: is an elevated token needed for a scope, and get one by MFA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actionmfa.sdk.client import Client


@dataclass(frozen=True)
class StepUpCheck:
    is_required: bool
    credentials: list[dict[str, Any]]
    default_credential_id: str | None


class StepUpResource:
    def __init__(self, client: Client) -> None:
        self._c = client

    def check(self, scope: str) -> StepUpCheck:
        """``POST /stepUp/check``. Per Dynamic's contract a failed check means "required"."""
        try:
            body = self._c.request("POST", "/stepUp/check", json={"scope": scope})
        except Exception:  # the API says: default to requiring step-up if this endpoint fails
            return StepUpCheck(True, [], None)
        return StepUpCheck(bool(body["isRequired"]), list(body.get("credentials", [])), body.get("defaultCredentialId"))

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
        result = self._c.mfa._authenticate(path, body, device_id)
        return result.elevated_access_token  # type: ignore[no-any-return]
