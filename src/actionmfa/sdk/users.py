"""``client.users``: the signed-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actionmfa.sdk.transport import Transport


class SdkUser(dict[str, Any]):
    """The wire ``SdkUser`` with typed snake_case attributes.

    It is also the wire (camelCase) dict itself, so ``user["id"]`` keeps working for code written
    against the raw JSON.
    """

    def __repr__(self) -> str:
        return f"SdkUser(id={self.id!r}, email={self.email!r}, scope={self.scope!r})"

    @property
    def id(self) -> str:
        return str(self["id"])

    @property
    def environment_id(self) -> str | None:
        return self.get("projectEnvironmentId") or self.get("environmentId")

    @property
    def verified_credentials(self) -> list[dict[str, Any]]:
        """Dynamic's ``verifiedCredentials``: the sign-in credential, MFA methods and wallets."""
        return list(self.get("verifiedCredentials") or [])

    @property
    def pending_wallet_actions(self) -> dict[str, str]:
        """Wallet id → the operator's delegation decision this user's SDK must complete
        (``approve_delegation`` / ``revoke_delegation``), as the sign-in answer carries it in
        ``verifiedCredentials[].walletProperties.pendingAction``. Complete it with
        ``client.wallets.complete_pending()``; empty when nothing is pending."""
        out: dict[str, str] = {}
        for credential in self.verified_credentials:
            properties = credential.get("walletProperties") or {}
            wallet_id = credential.get("embedded_wallet_id") or credential.get("id")
            if properties.get("pendingAction") and wallet_id:
                out[str(wallet_id)] = str(properties["pendingAction"])
        return out

    @property
    def email(self) -> str | None:
        return self.get("email")

    @property
    def external_user_id(self) -> str | None:
        return self.get("externalUserId")

    @property
    def alias(self) -> str | None:
        return self.get("alias")

    @property
    def first_name(self) -> str | None:
        return self.get("firstName")

    @property
    def last_name(self) -> str | None:
        return self.get("lastName")

    @property
    def metadata(self) -> dict[str, Any] | None:
        return self.get("metadata")

    @property
    def scope(self) -> str | None:
        return self.get("scope")

    @property
    def session_id(self) -> str | None:
        return self.get("sessionId")

    @property
    def mfa_backup_code_acknowledgement(self) -> str | None:
        return self.get("mfaBackupCodeAcknowledgement")

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class UsersResource:
    def __init__(self, client: Transport) -> None:
        self._c = client

    def me(self) -> SdkUser:
        user: dict[str, Any] = self._c.request("GET", "/users")
        self._c.session.user = user
        return SdkUser(user)

    def update(self, /, **fields: Any) -> SdkUser:
        """``PUT /users`` — the ``user.update`` action; stored MFA tokens are applied. The answer
        (Dynamic's ``UpdateSelfResponse``) carries the session too, which the client keeps."""
        body: dict[str, Any] = self._c.request(
            "PUT", "/users", json=fields, scope="user:update", include_mfa_token=True
        )
        self._c.set_session(body)
        return SdkUser(body["user"])
