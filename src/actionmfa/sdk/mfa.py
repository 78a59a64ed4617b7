"""``client.mfa``: TOTP devices, MFA authentication, recovery codes, the requirement rule.

Python names for Dynamic's ``useMfa()`` surface (reference/dynamic-api.md §4.1/§4.3). Tokens a
successful authentication mints are kept in ``client.tokens`` and applied to the next gated call
automatically; ``on("mfaCompletionSuccess"|"mfaCompletionFailure", callback)`` registers
completion callbacks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from actionmfa.domain.actions import MFAAction
from actionmfa.errors import ActionMFAError
from actionmfa.sdk.users import SdkUser

if TYPE_CHECKING:
    from actionmfa.sdk.passkeys import UserPasskey
    from actionmfa.sdk.transport import Transport

CreateMfaToken = bool | dict[str, bool] | None
EVENTS = ("mfaCompletionSuccess", "mfaCompletionFailure")


@dataclass(frozen=True)
class MfaDevice:
    id: str
    type: str
    verified: bool
    default: bool
    created_at: datetime | None
    verified_at: datetime | None
    alias: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> MfaDevice:
        def ts(v: Any) -> datetime | None:
            return datetime.fromisoformat(v) if isinstance(v, str) else None

        return cls(
            id=body["id"],
            type=body.get("type", "totp"),
            verified=bool(body.get("verified")),
            default=bool(body.get("default")),
            created_at=ts(body.get("createdAt")),
            verified_at=ts(body.get("verifiedAt")),
            alias=body.get("alias"),
        )


@dataclass(frozen=True)
class TotpSetup:
    """``add_device()`` result: the device id, the base32 secret and the ``otpauth://`` URI."""

    id: str
    secret: str
    uri: str
    type: str = "totp"

    def qr_svg(self) -> bytes:
        from actionmfa.qr import qr_svg

        return qr_svg(self.uri)

    def qr_png(self) -> bytes:
        from actionmfa.qr import qr_png

        return qr_png(self.uri)

    def qr_terminal(self) -> str:
        from actionmfa.qr import qr_terminal

        return qr_terminal(self.uri)


@dataclass(frozen=True)
class MfaMethods:
    """``GET /users/mfa/methods``: the user's TOTP devices and passkeys."""

    devices: list[MfaDevice]
    passkeys: list[UserPasskey]
    user_has_verified_mfa_methods: bool

    @classmethod
    def of(cls, body: dict[str, Any]) -> MfaMethods:
        from actionmfa.sdk.passkeys import UserPasskey

        return cls(
            devices=[MfaDevice.of(d) for d in body.get("devices", [])],
            passkeys=[UserPasskey.from_json(p) for p in body.get("passkeys", [])],
            user_has_verified_mfa_methods=bool(body.get("userHasVerifiedMfaMethods")),
        )


@dataclass(frozen=True)
class MfaAuthResult:
    """What an MFA authentication returned (the session JWT is already stored on the client)."""

    mfa_token: str | None
    elevated_access_token: str | None
    user: SdkUser
    expires_at: int


def accept_verify_response(client: Transport, response: dict[str, Any], *, single_use: bool | None) -> MfaAuthResult:
    """Keep the re-issued session of an MFA authentication and store the tokens it minted
    (TOTP, recovery codes and passkeys share this bookkeeping)."""
    client.set_session(response)
    mfa_token = response.get("mfaToken")
    elevated = response.get("elevatedAccessToken")
    if mfa_token:
        client.tokens.set_mfa_token(mfa_token, single_use=bool(single_use if single_use is not None else True))
    if elevated:
        client.tokens.add_elevated(elevated)
    return MfaAuthResult(
        mfa_token=mfa_token,
        elevated_access_token=elevated,
        user=SdkUser(response.get("user") or {}),
        expires_at=int(response.get("expiresAt", 0)),
    )


def _mint_body(
    create_mfa_token: CreateMfaToken, requested_scopes: list[str] | None, approval_digest: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if create_mfa_token:
        single = True if create_mfa_token is True else bool(dict(create_mfa_token).get("single_use", True))
        body["createMfaToken"] = {"singleUse": single}
    if requested_scopes:
        body["requestedScopes"] = list(requested_scopes)
    if approval_digest:
        body["approvalDigest"] = approval_digest
    return body


class MfaResource:
    def __init__(self, client: Transport) -> None:
        self._c = client
        self._listeners: dict[str, list[Callable[[dict[str, Any]], None]]] = {e: [] for e in EVENTS}
        self._lock = threading.Lock()

    # -- events --------------------------------------------------------------------------------
    def on(self, event: str, callback: Callable[[dict[str, Any]], None]) -> None:
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}; one of {EVENTS}")
        with self._lock:
            self._listeners[event].append(callback)

    def off(self, event: str, callback: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            if callback in self._listeners.get(event, []):
                self._listeners[event].remove(callback)

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        for callback in list(self._listeners[event]):
            callback(payload)

    # -- requirement ---------------------------------------------------------------------------
    def is_required_for_action(self, *, mfa_action: MFAAction | str) -> bool:
        body = self._c.request("POST", "/mfa/isRequiredForAction", json={"mfaAction": str(mfa_action)})
        return bool(body["required"])

    # -- devices -------------------------------------------------------------------------------
    def add_device(self, type: str = "totp") -> TotpSetup:
        """Start TOTP enrolment (``GET /users/mfa/register/totp``); stored tokens are applied
        (``credential:link``) when the user already has a method."""
        if type != "totp":
            raise ValueError("only TOTP devices are added here; use client.passkeys.register() for passkeys")
        body = self._c.request("GET", "/users/mfa/register/totp", scope="credential:link", include_mfa_token=True)
        return TotpSetup(id=body["id"], secret=body["secret"], uri=body["uri"], type=body.get("type", "totp"))

    def verify_device(self, code: str, type: str = "totp") -> MfaDevice:
        """Complete enrolment of the pending device (``POST /users/mfa/register/totp``); stored
        tokens are applied (``credential:link``) when the user already has a method."""
        try:
            body = self._c.request(
                "POST",
                "/users/mfa/register/totp",
                json={"type": type, "code": code},
                scope="credential:link",
                include_mfa_token=True,
            )
        except ActionMFAError as err:
            self._emit("mfaCompletionFailure", {"error": err})
            raise
        device = MfaDevice.of(body)
        self._emit("mfaCompletionSuccess", {"deviceId": device.id, "mfaToken": None})
        return device

    def get_user_devices(self) -> list[MfaDevice]:
        body = self._c.request("GET", "/users/mfa")
        return [MfaDevice.of(d) for d in body["devices"]]

    def get_methods(self, *, verified_only: bool = False) -> MfaMethods:
        params = {"verifiedOnly": "true"} if verified_only else None
        return MfaMethods.of(self._c.request("GET", "/users/mfa/methods", params=params))

    def update_user_device(self, device_id: str) -> None:
        """Make ``device_id`` the default device."""
        self._c.request("PUT", f"/users/mfa/{device_id}", json={"default": True})

    def delete_user_device(self, device_id: str, mfa_auth_token: str | None = None) -> None:
        """``DELETE /users/mfa/{id}``: the given token, else the stored ones (``credential:unlink``)."""
        headers = {"x-mfa-auth-token": mfa_auth_token} if mfa_auth_token else None
        self._c.request(
            "DELETE",
            f"/users/mfa/{device_id}",
            scope="credential:unlink",
            include_mfa_token=mfa_auth_token is None,
            headers=headers,
        )

    # -- authentication ------------------------------------------------------------------------
    def authenticate_device(
        self,
        *,
        code: str,
        device_id: str | None = None,
        create_mfa_token: CreateMfaToken = None,
        requested_scopes: list[str] | None = None,
        approval_digest: str | None = None,
    ) -> str | None:
        """``POST /users/mfa/auth/totp``; returns the MFA token if one was asked for."""
        body = {"code": code, **_mint_body(create_mfa_token, requested_scopes, approval_digest)}
        if device_id:
            body["id"] = device_id
        return self.send_authentication("/users/mfa/auth/totp", body, device_id=device_id).mfa_token

    def authenticate_recovery_code(
        self,
        *,
        code: str,
        create_mfa_token: CreateMfaToken = None,
        requested_scopes: list[str] | None = None,
        approval_digest: str | None = None,
    ) -> str | None:
        body = {"code": code, **_mint_body(create_mfa_token, requested_scopes, approval_digest)}
        return self.send_authentication("/users/mfa/auth/recovery", body).mfa_token

    def send_authentication(self, path: str, body: dict[str, Any], *, device_id: str | None = None) -> MfaAuthResult:
        """POST one MFA authentication (``/users/mfa/auth/totp`` or ``…/recovery``), keep what it
        returns and tell the completion listeners (``client.step_up`` uses this too)."""
        try:
            response = self._c.request("POST", path, json=body)
        except ActionMFAError as err:
            self._emit("mfaCompletionFailure", {"deviceId": device_id, "error": err})
            raise
        result = accept_verify_response(self._c, response, single_use=body.get("createMfaToken", {}).get("singleUse"))
        self._emit("mfaCompletionSuccess", {"deviceId": device_id, "mfaToken": result.mfa_token})
        return result

    def accept_verify_response(self, response: dict[str, Any], *, single_use: bool | None) -> MfaAuthResult:
        """Keep the re-issued session and the minted tokens of a ``VerifyResponse``."""
        return accept_verify_response(self._c, response, single_use=single_use)

    def get_mfa_token(self) -> str | None:
        """The stored MFA token (not consumed)."""
        return self._c.tokens.get_mfa_token()

    # -- recovery codes ------------------------------------------------------------------------
    def get_recovery_codes(self, generate_new_codes: bool = False) -> list[str]:
        if generate_new_codes:
            return self.get_new_recovery_codes()
        body = self._c.request("GET", "/users/mfa/recovery")
        return list(body["recoveryCodes"])

    def get_new_recovery_codes(self) -> list[str]:
        """Regenerate (needs MFA: stored tokens are applied, ``credential:update``)."""
        body = self._c.request("POST", "/users/mfa/recovery", scope="credential:update", include_mfa_token=True)
        return list(body["recoveryCodes"])

    def complete_acknowledgement(self) -> None:
        body = self._c.request("PUT", "/users", json={"mfaBackupCodeAcknowledgement": "complete"})
        self._c.set_session(body)

    def is_pending_recovery_codes_acknowledgment(self) -> bool:
        user = self._c.request("GET", "/users")
        return bool(user.get("mfaBackupCodeAcknowledgement") == "pending")
