"""``client.passkeys``: list, register, authenticate (MFA), rename, delete (DESIGN §5).

Every ceremony is: GET options → the authenticator answers (browser page or software keys) →
POST the credential. Registration and authentication are MFA authentications: the tokens they
mint are kept by the client and "applied automatically" to the next gated call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actionmfa.errors import ActionMFAError
from actionmfa.sdk.authenticators import Authenticator, BrowserAuthenticator, Ceremony

if TYPE_CHECKING:
    from actionmfa.sdk.mfa import MfaAuthResult
    from actionmfa.sdk.transport import Transport

CreateMfaToken = bool | dict[str, bool] | None


@dataclass(frozen=True)
class UserPasskey:
    id: str
    credential_id: str
    alias: str | None
    origin: str | None
    user_agent: str | None
    aaguid: str | None
    algorithm: int | None
    transports: tuple[str, ...]
    backup_eligible: bool
    backed_up: bool
    possibly_cloned: bool
    created_at: str
    updated_at: str | None
    last_used_at: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UserPasskey:
        return cls(
            id=d["id"],
            credential_id=d["credentialId"],
            alias=d.get("alias"),
            origin=d.get("origin"),
            user_agent=d.get("userAgent"),
            aaguid=d.get("aaguid"),
            algorithm=d.get("algorithm"),
            transports=tuple(d.get("transports") or ()),
            backup_eligible=bool(d.get("backupEligible")),
            backed_up=bool(d.get("backedUp")),
            possibly_cloned=bool(d.get("possiblyCloned")),
            created_at=d["createdAt"],
            updated_at=d.get("updatedAt"),
            last_used_at=d.get("lastUsedAt"),
        )


def _mfa_body(create_mfa_token: CreateMfaToken, requested_scopes: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if create_mfa_token:
        single_use = True
        if isinstance(create_mfa_token, dict):
            single_use = bool(create_mfa_token.get("single_use", create_mfa_token.get("singleUse", True)))
        body["createMfaToken"] = {"singleUse": single_use}
    if requested_scopes:
        body["requestedScopes"] = list(requested_scopes)
    return body


class PasskeysResource:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def get(self) -> list[UserPasskey]:
        body = self._client.request("GET", "/users/passkeys")
        return [UserPasskey.from_json(p) for p in body["passkeys"]]

    def register(
        self,
        *,
        authenticator: Authenticator | None = None,
        create_mfa_token: CreateMfaToken = None,
        requested_scopes: list[str] | None = None,
    ) -> MfaAuthResult:
        """Create a passkey (default authenticator: the user's browser, via the hosted page).

        If the user already has an MFA method, a stored MFA token or ``credential:link`` elevated
        token is attached: authenticate first."""
        options = self._client.request("GET", "/users/passkeys/register")
        credential = (authenticator or BrowserAuthenticator()).run(self._ceremony("register", options))
        body = self._client.request(
            "POST",
            "/users/passkeys/register",
            json={**credential, **_mfa_body(create_mfa_token, requested_scopes)},
            scope="credential:link",
            include_mfa_token=True,
        )
        return self._remember(body, create_mfa_token)

    def authenticate_mfa(
        self,
        *,
        authenticator: Authenticator | None = None,
        create_mfa_token: CreateMfaToken = None,
        requested_scopes: list[str] | None = None,
        approval_digest: str | None = None,
    ) -> MfaAuthResult:
        """Prove the passkey (default authenticator: the user's browser, via the hosted page);
        ``approval_digest`` binds the minted token to one payload (DESIGN §6)."""
        options = self._client.request("GET", "/users/passkeys/authenticate")
        credential = (authenticator or BrowserAuthenticator()).run(self._ceremony("authenticate", options))
        mint = _mfa_body(create_mfa_token, requested_scopes)
        if approval_digest:
            mint["approvalDigest"] = approval_digest
        body = self._client.request("POST", "/users/mfa/auth/passkey", json={**credential, **mint})
        return self._remember(body, create_mfa_token)

    def update(self, passkey_id: str, *, alias: str | None) -> UserPasskey:
        body = self._client.request("PUT", "/users/passkeys", json={"id": passkey_id, "alias": alias})
        return UserPasskey.from_json(body)

    def delete(self, passkey_id: str) -> None:
        """Remove a passkey (gated: a stored MFA token or ``credential:unlink`` elevated token)."""
        self._client.request(
            "DELETE",
            "/users/passkeys",
            json={"passkeyId": passkey_id},
            scope="credential:unlink",
            include_mfa_token=True,
        )

    def _ceremony(self, kind: str, options: dict[str, Any]) -> Ceremony:
        return Ceremony(
            kind=kind,
            options=options,
            environment_id=self._client.environment_id,
            base_url=self._client.base_url,
            origins=self.origins(),
        )

    def origins(self) -> tuple[str, ...]:
        """The environment's passkey origins (public settings); empty if they cannot be read."""
        try:
            settings = self._client.request("GET", "/settings", authenticated=False)
            return tuple(settings["security"]["passkeys"]["origins"])
        except (ActionMFAError, KeyError, TypeError):
            return ()

    def _remember(self, body: dict[str, Any], create_mfa_token: CreateMfaToken) -> MfaAuthResult:
        # Same bookkeeping as TOTP: keep the re-issued session, store the minted tokens.
        single_use = None
        if isinstance(create_mfa_token, dict):
            single_use = bool(create_mfa_token.get("single_use", create_mfa_token.get("singleUse", True)))
        from actionmfa.sdk.mfa import accept_verify_response

        return accept_verify_response(self._client, body, single_use=single_use)
