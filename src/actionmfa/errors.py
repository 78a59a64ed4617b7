"""The one error vocabulary (DESIGN §5).

Every failure the service can report is a subclass of :class:`ActionMFAError` with a stable
``code``, an HTTP ``status`` and a safe, human ``message``. The API turns them into
``{"error": message, "code": code}`` bodies; the SDK turns those bodies back into the same
classes, so a caller catches ``MfaRequiredError`` on both sides of the wire.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ERRORS_BY_CODE",
    "ActionMFAError",
    "CeremonyInvalidError",
    "ConflictError",
    "ForbiddenError",
    "InternalError",
    "InvalidRequestError",
    "InvalidScopesError",
    "MfaCodeAlreadyUsedError",
    "MfaDeviceNotFoundError",
    "MfaInvalidCodeError",
    "MfaRateLimitedError",
    "MfaRequiredError",
    "MfaTokenInvalidError",
    "NotFoundError",
    "PasskeyChallengeInvalidError",
    "PasskeyInvalidError",
    "PasskeyNotFoundError",
    "PayloadTooLargeError",
    "TotpDeviceExistsError",
    "UnauthorizedError",
    "WalletLockedError",
    "error_from_body",
]


class ActionMFAError(Exception):
    """Base of every error with a stable wire ``code``."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        payload: dict[str, Any] | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.payload = payload
        # On the SDK side the status comes from the wire; on the server it is the class's.
        self.status_code = status_code if status_code is not None else self.status
        self.request_id = request_id
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.field is not None:
            body["field"] = self.field
        if self.payload is not None:
            body["payload"] = self.payload
        return body


class InternalError(ActionMFAError):
    code = "internal_error"
    status = 500
    default_message = "Internal error"


class InvalidRequestError(ActionMFAError):
    code = "invalid_request"
    status = 422
    default_message = "Invalid request"


class PayloadTooLargeError(ActionMFAError):
    code = "payload_too_large"
    status = 413
    default_message = "Request body too large"


class UnauthorizedError(ActionMFAError):
    code = "unauthorized"
    status = 401
    default_message = "Unauthorized"


class ForbiddenError(ActionMFAError):
    code = "forbidden"
    status = 403
    default_message = "Forbidden"


class NotFoundError(ActionMFAError):
    code = "not_found"
    status = 404
    default_message = "Not found"


class ConflictError(ActionMFAError):
    code = "conflict"
    status = 409
    default_message = "Conflict"


class MfaRequiredError(ActionMFAError):
    code = "mfa_required"
    status = 403
    default_message = "MFA required"


class MfaTokenInvalidError(ActionMFAError):
    code = "mfa_token_invalid"
    status = 403
    default_message = "MFA token invalid"


class MfaInvalidCodeError(ActionMFAError):
    code = "mfa_invalid_code"
    status = 422
    default_message = "Invalid code"


class MfaCodeAlreadyUsedError(MfaInvalidCodeError):
    """A right TOTP code for a time step already accepted (RFC 6238 §5.2: each step once). Counted
    toward the lockout like a wrong code (DESIGN §8); ``payload.retryAfterSeconds`` says when the
    next step begins. A subclass of :class:`MfaInvalidCodeError`, so callers that catch that keep working."""

    code = "mfa_code_already_used"
    status = 422
    default_message = "This code was already used — wait for the next one"


class MfaRateLimitedError(ActionMFAError):
    code = "mfa_rate_limited"
    status = 429
    default_message = "Too many attempts, try again later"


class MfaDeviceNotFoundError(ActionMFAError):
    code = "mfa_device_not_found"
    status = 404
    default_message = "MFA device not found"


class TotpDeviceExistsError(ActionMFAError):
    code = "totp_device_exists"
    status = 409
    default_message = "A verified TOTP device already exists"


class InvalidScopesError(ActionMFAError):
    code = "invalid_scopes"
    status = 422
    default_message = "Invalid scopes"


class PasskeyInvalidError(ActionMFAError):
    code = "passkey_invalid"
    status = 422
    default_message = "Passkey verification failed"


class PasskeyChallengeInvalidError(ActionMFAError):
    code = "passkey_challenge_invalid"
    status = 422
    default_message = "Passkey challenge invalid or expired"


class PasskeyNotFoundError(ActionMFAError):
    code = "passkey_not_found"
    status = 404
    default_message = "Passkey not found"


class CeremonyInvalidError(ActionMFAError):
    code = "ceremony_invalid"
    status = 422
    default_message = "Signing ceremony invalid or expired"


class WalletLockedError(ActionMFAError):
    code = "wallet_locked"
    status = 423
    default_message = "Wallet locked for signing"


def _all_subclasses(cls: type[ActionMFAError]) -> list[type[ActionMFAError]]:
    found: list[type[ActionMFAError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def _registry() -> dict[str, type[ActionMFAError]]:
    return {cls.code: cls for cls in _all_subclasses(ActionMFAError)}


ERRORS_BY_CODE: dict[str, type[ActionMFAError]] = _registry()


def error_from_body(status_code: int, body: object, *, request_id: str | None = None) -> ActionMFAError:
    """Rebuild the typed error from a wire body (used by the SDK)."""
    message = "Request failed"
    code = "unknown_error"
    field = None
    payload = None
    if isinstance(body, dict):
        message = str(body.get("error") or message)
        code = str(body.get("code") or code)
        field = body.get("field") if isinstance(body.get("field"), str) else None
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else None
    cls = ERRORS_BY_CODE.get(code, ActionMFAError)
    err = cls(message, field=field, payload=payload, status_code=status_code, request_id=request_id)
    if cls is ActionMFAError:
        err.unknown_code = code  # type: ignore[attr-defined]
    return err


# --- wallet engine (issue 5) -------------------------------------------------------------------


class WalletProofInvalidError(ActionMFAError):
    """A commitment, zero-knowledge proof or protocol message of a wallet ceremony failed to check."""

    code = "wallet_proof_invalid"
    status = 422
    default_message = "Wallet ceremony message failed verification"


class WalletSignatureInvalidError(ActionMFAError):
    """A two-party signature did not verify (the server locks the wallet, CVE-2023-33242)."""

    code = "wallet_signature_invalid"
    status = 422
    default_message = "Signature verification failed"


class WalletExportInvalidError(ActionMFAError):
    """An export ciphertext could not be opened under this context, or the key does not match."""

    code = "wallet_export_invalid"
    status = 422
    default_message = "Wallet export could not be verified"


__all__ += ["WalletExportInvalidError", "WalletProofInvalidError", "WalletSignatureInvalidError"]
ERRORS_BY_CODE.update(_registry())


__all__ += ["MfaMethodDisabledError", "RecoveryCodesAcknowledgedError"]


class RecoveryCodesAcknowledgedError(ActionMFAError):
    """The codes were acknowledged and are never shown again; regenerate instead (needs MFA)."""

    code = "recovery_codes_acknowledged"
    status = 409
    default_message = "Recovery codes were acknowledged and cannot be shown again"


class MfaMethodDisabledError(ActionMFAError):
    code = "mfa_method_disabled"
    status = 422
    default_message = "This MFA method is not enabled for the environment"


ERRORS_BY_CODE.update(_registry())


# --- sign-in (foundation, issue 2) -------------------------------------------------------------


class InvalidVerificationCodeError(ActionMFAError):
    """The email one-time code does not match (the try is counted)."""

    code = "invalid_verification_code"
    status = 422
    default_message = "Invalid verification code"


class VerificationNotFoundError(ActionMFAError):
    code = "verification_not_found"
    status = 404
    default_message = "Email verification not found"


class VerificationExpiredError(ActionMFAError):
    code = "verification_expired"
    status = 410
    default_message = "Email verification expired; request a new code"


class VerificationUsedError(ActionMFAError):
    code = "verification_used"
    status = 410
    default_message = "Email verification already used; request a new code"


class VerificationAttemptsExceededError(ActionMFAError):
    code = "verification_attempts_exceeded"
    status = 429
    default_message = "Too many attempts for this code; request a new code"


class EmailRateLimitedError(ActionMFAError):
    code = "email_rate_limited"
    status = 429
    default_message = "Too many codes sent to this address; try again later"


class SignInRateLimitedError(ActionMFAError):
    """Too many failed sign-ins from this client, or for this address (never the MFA lockout)."""

    code = "signin_rate_limited"
    status = 429
    default_message = "Too many failed sign-in attempts; try again later"


class EmailDeliveryError(ActionMFAError):
    code = "email_delivery_failed"
    status = 503
    default_message = "The email could not be sent"


class ExternalAuthUnavailableError(ActionMFAError):
    """The configured JWKS URL could not be fetched (a server-side dependency, not the caller's fault)."""

    code = "external_auth_unavailable"
    status = 503
    default_message = "External auth keys are unavailable"


__all__ += [
    "EmailDeliveryError",
    "EmailRateLimitedError",
    "ExternalAuthUnavailableError",
    "InvalidVerificationCodeError",
    "SignInRateLimitedError",
    "VerificationAttemptsExceededError",
    "VerificationExpiredError",
    "VerificationNotFoundError",
    "VerificationUsedError",
]
ERRORS_BY_CODE.update(_registry())


class WalletLimitError(ActionMFAError):
    """Too many wallets, or too many key generations in progress, for one user."""

    code = "wallet_limit_reached"
    status = 429
    default_message = "Wallet limit reached"


class WalletCreationBusyError(ActionMFAError):
    """The Paillier key pool is kept fair (issue 11.2): this user already waits for a key or holds an
    unfinished creation while the pool is low, or the environment has too many creations waiting."""

    code = "wallet_creation_busy"
    status = 429
    default_message = "Too many wallet creations in progress; finish one or retry shortly"


class CeremonyLimitError(ActionMFAError):
    """Too many open (unfinished, unexpired) wallet ceremonies for this user or environment."""

    code = "ceremony_limit_reached"
    status = 429
    default_message = "Too many wallet ceremonies in progress; finish one or wait a minute"


__all__ += ["CeremonyLimitError", "WalletCreationBusyError", "WalletLimitError"]
ERRORS_BY_CODE.update(_registry())


class WalletReshareConflictError(ActionMFAError):
    """The wallet's threshold scheme does not allow this (e.g. delegate twice, refresh while delegated)."""

    code = "wallet_reshare_conflict"
    status = 409
    default_message = "The wallet's threshold scheme does not allow this"


class DelegatedAccessDisabledError(ActionMFAError):
    """Delegated access is not enabled, or its webhook URL, RSA key or HMAC secret is missing."""

    code = "delegated_access_disabled"
    status = 409
    default_message = "Delegated access is not configured for this environment"


__all__ += ["DelegatedAccessDisabledError", "WalletReshareConflictError"]
ERRORS_BY_CODE.update(_registry())


class MaxPasskeysPerUserError(ActionMFAError):
    """The user already has the maximum number of passkeys (Dynamic's ``max_passkeys_per_user``)."""

    code = "max_passkeys_per_user"
    status = 422
    default_message = "Maximum number of passkeys per user reached"


__all__ += ["MaxPasskeysPerUserError"]
ERRORS_BY_CODE.update(_registry())


class WalletChainUnsupportedError(ActionMFAError):
    """The operation or payload does not apply to the wallet's chain (an EVM payload for a Solana
    wallet, or a flow Solana wallets do not support yet); the message says which and why."""

    code = "wallet_chain_unsupported"
    status = 422
    default_message = "Not supported for this wallet's chain"


__all__ += ["WalletChainUnsupportedError"]
ERRORS_BY_CODE.update(_registry())


class WalletClaimRequiredError(ActionMFAError):
    """A pregenerated wallet is still in the operator's custody: the user must claim it (receive the
    stand-in share and complete the gated refresh) before it signs, exports or reshares."""

    code = "wallet_claim_required"
    status = 409
    default_message = "This pregenerated wallet must be claimed (claim, then refresh) before it can be used"


class WalletAlreadyClaimedError(ActionMFAError):
    """The pregenerated wallet was claimed and its stand-in share erased: there is nothing to deliver."""

    code = "wallet_already_claimed"
    status = 409
    default_message = "This wallet was already claimed"


class PregeneratedBatchTooLargeError(ActionMFAError):
    """More identities in one pregeneration request than the route accepts."""

    code = "pregenerated_batch_too_large"
    status = 422
    default_message = "Too many identities in one request"


__all__ += ["PregeneratedBatchTooLargeError", "WalletAlreadyClaimedError", "WalletClaimRequiredError"]
ERRORS_BY_CODE.update(_registry())
