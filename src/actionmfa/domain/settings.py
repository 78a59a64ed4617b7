"""Per-environment settings document (DESIGN §4, §5) with validation.

The shape keeps Dynamic's names (``security.mfa``, ``security.externalAuth`` …). Unknown actions or
methods are refused with the offending field named; :meth:`EnvironmentSettings.public` is what the
unauthenticated ``GET …/settings`` shows.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from actionmfa.domain.actions import (
    SCOPE_FOR_ACTION,
    MFAAction,
    MFADeviceType,
    MfaEnrollment,
    TokenBehavior,
    default_token_behavior,
    default_token_expiry_seconds,
)
from actionmfa.errors import InvalidRequestError

MAX_SESSION_SECONDS = 90 * 86_400
# Validation context key of documents read back from storage (written under older rules).
STORED = "stored"
STORED_CONTEXT = {STORED: True}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MfaMethodSetting(_Model):
    type: MFADeviceType
    enabled: bool = True


class MfaActionSetting(_Model):
    action: MFAAction
    required: bool = False
    tokenBehavior: TokenBehavior | None = None
    tokenExpirySeconds: int | None = Field(default=None, ge=10, le=86_400)

    def effective_behavior(self) -> TokenBehavior:
        return self.tokenBehavior or default_token_behavior(SCOPE_FOR_ACTION[self.action])

    def effective_expiry_seconds(self) -> int:
        return self.tokenExpirySeconds or default_token_expiry_seconds(self.effective_behavior())


def _default_methods() -> list[MfaMethodSetting]:
    return [MfaMethodSetting(type=MFADeviceType.TOTP), MfaMethodSetting(type=MFADeviceType.PASSKEY)]


class MfaSettings(_Model):
    enabled: bool = False
    enrollment: MfaEnrollment = MfaEnrollment.NONE
    required: bool = False  # derived from enrollment; any written value is overwritten
    methods: list[MfaMethodSetting] = Field(default_factory=_default_methods)
    actions: list[MfaActionSetting] = Field(default_factory=list)

    @model_validator(mode="after")
    def _derive(self) -> MfaSettings:
        self.required = self.enrollment is not MfaEnrollment.NONE
        seen: set[MFAAction] = set()
        for item in self.actions:
            if item.action in seen:
                raise ValueError(f"action {item.action.value} listed twice")
            seen.add(item.action)
        return self

    def action(self, action: MFAAction) -> MfaActionSetting:
        for item in self.actions:
            if item.action is action:
                return item
        return MfaActionSetting(action=action, required=False)

    def method_enabled(self, kind: MFADeviceType) -> bool:
        return any(m.type is kind and m.enabled for m in self.methods)


class ExternalAuthSettings(_Model):
    enabled: bool = False
    iss: str | None = None
    aud: str | None = None
    jwksUrl: str | None = None
    publicKeyPem: str | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self, info: ValidationInfo) -> ExternalAuthSettings:
        # Without an audience and issuer check, any token the developer's IdP mints for any of its
        # other clients would sign users in here; refuse such a configuration up front.
        if self.jwksUrl is not None:
            problem = jwks_url_problem(self.jwksUrl)
            # A document stored before this rule existed still loads (STORED_CONTEXT), so that the
            # environment keeps working; the fetch refuses such a URL instead (503).
            stored = bool(info.context and info.context.get(STORED))
            if problem is not None and not (stored and urlsplit(self.jwksUrl).scheme in ("https", "http")):
                raise ValueError(problem)
        if self.publicKeyPem is not None:
            try:
                serialization.load_pem_public_key(self.publicKeyPem.encode())
            except (ValueError, TypeError):
                raise ValueError("publicKeyPem is not a PEM public key") from None
        if self.enabled:
            if not self.iss or not self.aud:
                raise ValueError("iss and aud are required when externalAuth is enabled")
            if bool(self.jwksUrl) == bool(self.publicKeyPem):
                raise ValueError("exactly one of jwksUrl and publicKeyPem is required when externalAuth is enabled")
        return self


def jwks_url_problem(url: str) -> str | None:
    """Why ``url`` may not be fetched as a JWKS, or None.

    The fetch happens on an unauthenticated sign-in, so the URL must not turn the server into a
    probe of its own network: https only (http for a loopback host, which is how tests and local
    development serve keys), and no literal IP host in a private, link-local (cloud metadata),
    shared, reserved or otherwise non-global range — except loopback. Legacy IPv4 spellings that
    resolvers accept (``167772161``, ``0x0a.1``) count as literals. Names that *resolve* to such
    addresses are not caught here (that would need resolution pinned at fetch time).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "jwksUrl must be an http(s) URL"
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        return "jwksUrl must be an http(s) URL"
    address = _literal_address(host)
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if address is not None and not loopback and not address.is_global:
        return "jwksUrl must not point at a private, link-local or reserved address"
    if parts.scheme == "http" and not loopback:
        return "jwksUrl must be an https URL (http only for a loopback host)"
    return None


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))  # 127.1, 0x7f.1, 2130706433 …
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class PasskeySettings(_Model):
    """The WebAuthn relying party of an environment (DESIGN §3, §8).

    Origins are normalised the way browsers serialise them in ``clientDataJSON`` (lower-case
    host, no default port, no path), so that the exact comparison the verifier makes is right.
    Several origins are allowed (related origins under one rp id). WebAuthn runs only in secure
    contexts, so ``http`` is refused except for ``localhost``. The rp id must be a domain (not an
    IP address, not a bare top-level label other than ``localhost``) and a registrable suffix of
    every origin's host.
    """

    rpId: str = Field(default="localhost", min_length=1, max_length=253)
    rpName: str = Field(default="ActionMFA", min_length=1, max_length=100)
    origins: list[str] = Field(default_factory=lambda: ["http://localhost:8080"], min_length=1, max_length=20)

    @field_validator("rpId")
    @classmethod
    def _rp_id(cls, value: str) -> str:
        rp = value.strip().lower().rstrip(".")
        if _is_ip(rp) or not _DOMAIN.match(rp):
            raise ValueError(f"rpId {value!r} is not a domain name")
        if "." not in rp and rp != "localhost":
            raise ValueError(f"rpId {value!r} is a bare top-level label")
        return rp

    @field_validator("origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one origin is required")
        out: list[str] = []
        for origin in value:
            try:
                parts = urlsplit(origin.strip())
                port = parts.port
            except ValueError:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])") from None
            host = (parts.hostname or "").lower()
            if (
                parts.scheme not in ("https", "http")
                or not host
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
                or parts.username is not None
            ):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
            if parts.scheme == "http" and host != "localhost" and not host.endswith(".localhost"):
                raise ValueError(f"{origin!r}: passkeys need https (http only for localhost)")
            default = 443 if parts.scheme == "https" else 80
            netloc = host if port in (None, default) else f"{host}:{port}"
            normalised = f"{parts.scheme}://{netloc}"
            if normalised not in out:
                out.append(normalised)
        return out

    @model_validator(mode="after")
    def _rp_id_suffix(self) -> PasskeySettings:
        rp = self.rpId
        for origin in self.origins:
            host = urlsplit(origin).hostname or ""
            if host != rp and not host.endswith("." + rp):
                raise ValueError(f"rpId {self.rpId!r} is not a registrable suffix of origin {origin!r}")
        return self


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


class JwtDuration(_Model):
    amount: int = Field(default=24, ge=1, le=129_600)
    unit: Literal["minutes", "hours", "days"] = "hours"

    @model_validator(mode="after")
    def _cap(self) -> JwtDuration:
        if self.seconds() > MAX_SESSION_SECONDS:
            raise ValueError("jwtDuration may be at most 90 days")
        return self

    def seconds(self) -> int:
        return self.amount * {"minutes": 60, "hours": 3600, "days": 86_400}[self.unit]


class DelegatedAccessSettings(_Model):
    """Delegated access (wallet-crypto.md §1.4): where a reshare delivers the developer's share.

    ``publicKeyPem`` is the developer's RSA key (≥ 2048 bits) the share is wrapped for; the HMAC
    secret that signs the webhook is server-generated and shown once (admin API), never stored here.
    ``webhookUrl`` must be https, except for a loopback host.
    """

    enabled: bool = False
    webhookUrl: str | None = Field(default=None, max_length=2048)
    publicKeyPem: str | None = Field(default=None, max_length=8192)

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> DelegatedAccessSettings:
        if self.webhookUrl is not None:
            parts = urlsplit(self.webhookUrl)
            host = (parts.hostname or "").lower()
            loopback = host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)
            if not host or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
                raise ValueError("webhookUrl must be an https URL (http only for a loopback host)")
        if self.publicKeyPem is not None:
            try:
                key = serialization.load_pem_public_key(self.publicKeyPem.encode())
            except (ValueError, TypeError):
                raise ValueError("publicKeyPem is not a PEM public key") from None
            if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
                raise ValueError("publicKeyPem must be an RSA key of at least 2048 bits")
        if self.enabled and (not self.webhookUrl or not self.publicKeyPem):
            raise ValueError("webhookUrl and publicKeyPem are required when delegatedAccess is enabled")
        return self


class EmbeddedWalletSettings(_Model):
    """What the wallet signs (docs/wallets.md "Payload policy").

    ``allowChainIdZeroAuthorizations``: sign EIP-7702 authorizations for chainId 0, which are valid on
    every chain (EIP-7702 §Specification) — off by default: one such signature delegates the account
    on every network at once."""

    allowChainIdZeroAuthorizations: bool = False


class SecuritySettings(_Model):
    mfa: MfaSettings = Field(default_factory=MfaSettings)
    externalAuth: ExternalAuthSettings = Field(default_factory=ExternalAuthSettings)
    passkeys: PasskeySettings = Field(default_factory=PasskeySettings)
    jwtDuration: JwtDuration = Field(default_factory=JwtDuration)
    delegatedAccess: DelegatedAccessSettings = Field(default_factory=DelegatedAccessSettings)
    embeddedWallets: EmbeddedWalletSettings = Field(default_factory=EmbeddedWalletSettings)


class GeneralSettings(_Model):
    """What end users see of the environment (Dynamic's ``general`` section): ``displayName`` names
    the app in sign-in mail, the TOTP issuer shown by authenticator apps and the hosted prompt. The
    environment's own ``name`` is the operator's label and never reaches end users."""

    displayName: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("displayName")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = " ".join(value.split())  # it goes into mail headers and otpauth URIs
        if not text:
            raise ValueError("displayName must not be blank")
        return text


class WebhookSettings(_Model):
    """Where the environment's events go (issue 13.4; docs/webhooks.md). Signed with the environment's
    webhook secret (``POST /environments/{id}/waas/delegatedAccess/secret``). https, or http to a
    loopback host."""

    url: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="after")
    def _https(self) -> WebhookSettings:
        if self.url is not None:
            parts = urlsplit(self.url)
            host = (parts.hostname or "").lower()
            loopback = host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)
            if not host or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
                raise ValueError("webhooks.url must be an https URL (http only for a loopback host)")
        return self


class EnvironmentSettings(_Model):
    general: GeneralSettings = Field(default_factory=GeneralSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    def app_name(self) -> str:
        """The name end users see: ``general.displayName``, else the passkey relying party's name
        (default "ActionMFA")."""
        return self.general.displayName or " ".join(self.security.passkeys.rpName.split())

    @classmethod
    def parse(cls, data: Any) -> EnvironmentSettings:
        """Validate a settings document; the first problem becomes a 422 naming the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_request_from(exc, prefix="settings") from None

    def merged(self, patch: Any) -> EnvironmentSettings:
        """Apply a partial document (PUT merges the fields it is given), then validate."""
        if not isinstance(patch, dict):
            raise InvalidRequestError("settings must be an object", field="settings")
        return EnvironmentSettings.parse(_deep_merge(self.model_dump(mode="json"), patch))

    def public(self) -> dict[str, Any]:
        """What ``GET /sdk/{env}/settings`` shows: of delegated access only whether it is on (the
        webhook URL is the developer's business; the HMAC secret never lives in settings)."""
        out = self.model_dump(mode="json")
        out["security"]["delegatedAccess"] = {"enabled": self.security.delegatedAccess.enabled}
        out.pop("webhooks", None)  # the developer's endpoint is nobody else's business
        return out


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def invalid_request_from(exc: ValidationError, *, prefix: str = "") -> InvalidRequestError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    field = ".".join(p for p in (prefix, loc) if p)
    return InvalidRequestError(f"{field or 'body'}: {first.get('msg', 'invalid')}", field=field or None)
