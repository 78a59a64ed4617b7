"""Passkeys (WebAuthn Level 3) as an MFA factor: options and verification over py_webauthn.

Pure functions; the caller stores nothing here and persists what the frozen results carry
(``VerifiedPasskey`` on registration, ``new_sign_count`` on authentication).

* :func:`registration_options` / :func:`authentication_options` build the WebAuthn L3 JSON forms
  (``PublicKeyCredentialCreationOptionsJSON`` / ``…RequestOptionsJSON``, §5.4 and §5.5).
* :func:`verify_registration` (§7.1) and :func:`verify_authentication` (§7.2) take keyword-only
  ``expected_*`` arguments. Before handing the credential to py_webauthn they check, in the order of
  §7.1/§7.2, the fields that have a *stable reason* (ceremony type, challenge, origin, rp id hash,
  user presence and verification), so that the service can answer ``passkey_invalid`` with a reason
  that does not depend on the library's English messages. py_webauthn then re-checks everything and
  verifies the attestation and signature.
  :func:`verify_assertion` is §7.2 without the counter (what depends only on the assertion and
  the public key), for a caller that judges the counter against the row as it is at commit.
* :func:`sign_count_ok` / :func:`check_sign_count` are the cloned-authenticator rule of §6.1.1 /
  §7.2 step 21.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from webauthn import verify_authentication_response, verify_registration_response
from webauthn.helpers import (
    parse_attestation_object,
    parse_authenticator_data,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticatorData, CredentialDeviceType

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import InvalidRequestError, PasskeyInvalidError

__all__ = [
    "ACCEPTED_ALGORITHMS",
    "CHALLENGE_BYTES",
    "CHALLENGE_TTL",
    "OFFERED_ALGORITHMS",
    "Ceremony",
    "CredentialDescriptor",
    "PasskeyFailure",
    "RelyingParty",
    "VerifiedAssertion",
    "VerifiedPasskey",
    "authentication_options",
    "b64u",
    "b64u_decode",
    "check_sign_count",
    "client_data_challenge",
    "credential_id_of",
    "normalise_credential",
    "registration_options",
    "sign_count_ok",
    "verify_assertion",
    "verify_authentication",
    "verify_registration",
]

CHALLENGE_BYTES = 32
CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = int(CHALLENGE_TTL.total_seconds() * 1000)

# Offered in this order (the authenticator takes the first it supports). ES256 first because every
# platform authenticator implements it; Ed25519 next; RS256 last so that authenticators that only
# do RSA (Windows Hello on older TPMs) can still register — "offered ES256 and Ed25519, RS256
# accepted" (DESIGN §8).
OFFERED_ALGORITHMS: tuple[COSEAlgorithmIdentifier, ...] = (
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
)
ACCEPTED_ALGORITHMS: tuple[COSEAlgorithmIdentifier, ...] = OFFERED_ALGORITHMS

_MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn L3 §5.8.3 (credential ids are at most 1023 bytes)


class Ceremony(StrEnum):
    REGISTER = "register"
    AUTHENTICATE = "authenticate"


class PasskeyFailure(StrEnum):
    """Why a passkey response was refused (the ``reason`` in ``passkey_invalid`` payloads)."""

    MALFORMED = "malformed"
    CEREMONY_TYPE = "ceremony_type"
    CHALLENGE = "challenge"
    ORIGIN = "origin"
    RP_ID = "rp_id"
    USER_PRESENCE = "user_presence"
    USER_VERIFICATION = "user_verification"
    ALGORITHM = "algorithm"
    USER_HANDLE = "user_handle"
    SIGNATURE = "signature"
    COUNTER = "counter"
    CLONED = "cloned"


def _invalid(reason: PasskeyFailure, message: str | None = None) -> PasskeyInvalidError:
    return PasskeyInvalidError(
        message or f"Passkey verification failed ({reason.value})", payload={"reason": reason.value}
    )


@dataclass(frozen=True)
class RelyingParty:
    """The WebAuthn relying party of one environment (``settings.security.passkeys``)."""

    id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class CredentialDescriptor:
    credential_id: bytes
    transports: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": b64u(self.credential_id), "type": "public-key"}
        if self.transports:
            out["transports"] = list(self.transports)
        return out


@dataclass(frozen=True)
class VerifiedPasskey:
    """What a verified registration leaves for the caller to persist."""

    credential_id: bytes
    public_key: bytes  # COSE_Key
    algorithm: int
    sign_count: int
    aaguid: str
    transports: tuple[str, ...]
    backup_eligible: bool
    backed_up: bool
    user_verified: bool


@dataclass(frozen=True)
class VerifiedAssertion:
    credential_id: bytes
    new_sign_count: int
    backed_up: bool
    user_verified: bool


def registration_options(
    *,
    rp: RelyingParty,
    user_handle: bytes,
    user_name: str,
    user_display_name: str,
    challenge: bytes,
    exclude: Sequence[CredentialDescriptor] = (),
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptionsJSON`` (WebAuthn L3 §5.4) for an MFA passkey.

    User verification is required (a passkey is a second factor only if it proves the user, not
    just presence); a discoverable credential is preferred; attestation is not asked for — we make
    no policy on authenticator models, and ``none`` avoids a privacy prompt.
    """
    _check_challenge(challenge)
    return {
        "rp": {"id": rp.id, "name": rp.name},
        "user": {"id": b64u(user_handle), "name": user_name, "displayName": user_display_name},
        "challenge": b64u(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": int(alg)} for alg in OFFERED_ALGORITHMS],
        "timeout": TIMEOUT_MS,
        "excludeCredentials": [d.to_json() for d in exclude],
        "authenticatorSelection": {
            "residentKey": "preferred",
            "requireResidentKey": False,
            "userVerification": "required",
        },
        "attestation": "none",
        "hints": [],
        "extensions": {"credProps": True},
    }


def authentication_options(
    *, rp: RelyingParty, challenge: bytes, allow: Sequence[CredentialDescriptor]
) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptionsJSON`` (WebAuthn L3 §5.5), user verification required."""
    _check_challenge(challenge)
    return {
        "challenge": b64u(challenge),
        "timeout": TIMEOUT_MS,
        "rpId": rp.id,
        "allowCredentials": [d.to_json() for d in allow],
        "userVerification": "required",
    }


def _check_challenge(challenge: bytes) -> None:
    if len(challenge) < CHALLENGE_BYTES:
        raise ValueError(f"a challenge needs at least {CHALLENGE_BYTES} random bytes")


def normalise_credential(credential: Any) -> dict[str, Any]:
    """Accept Dynamic's ``response.clientDataJson`` casing beside WebAuthn's ``clientDataJSON``.

    Returns a copy in the WebAuthn JSON form py_webauthn parses. Both spellings with different
    values is ambiguous and refused rather than guessed.
    """
    if not isinstance(credential, Mapping):
        raise InvalidRequestError("credential must be an object", field="credential")
    out = dict(credential)
    response = out.get("response")
    if not isinstance(response, Mapping):
        raise InvalidRequestError("response is required", field="response")
    response = dict(response)
    dynamic = response.pop("clientDataJson", None)
    if dynamic is not None:
        if response.get("clientDataJSON", dynamic) != dynamic:
            raise InvalidRequestError("clientDataJSON and clientDataJson disagree", field="response.clientDataJSON")
        response["clientDataJSON"] = dynamic
    if not isinstance(response.get("clientDataJSON"), str):
        raise InvalidRequestError("response.clientDataJSON is required", field="response.clientDataJSON")
    for key in ("id", "rawId"):
        if not isinstance(out.get(key), str):
            raise InvalidRequestError(f"{key} is required", field=key)
    out.setdefault("type", "public-key")
    out["response"] = response
    return out


def _client_data(credential: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(b64u_decode(credential["response"]["clientDataJSON"]))
    except (ValueError, TypeError, KeyError) as exc:
        raise _invalid(PasskeyFailure.MALFORMED, "clientDataJSON is malformed") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("type", "challenge", "origin")):
        raise _invalid(PasskeyFailure.MALFORMED, "clientDataJSON is malformed")
    return data


def client_data_challenge(credential: Mapping[str, Any]) -> bytes:
    """The challenge the client signed over (to find the stored ceremony it answers)."""
    try:
        return b64u_decode(_client_data(credential)["challenge"])
    except ValueError as exc:
        raise _invalid(PasskeyFailure.MALFORMED, "clientDataJSON challenge is malformed") from exc


def credential_id_of(credential: Mapping[str, Any]) -> bytes:
    raw = credential.get("rawId")
    try:
        value = b64u_decode(str(raw))
    except ValueError as exc:
        raise _invalid(PasskeyFailure.MALFORMED, "rawId is not base64url") from exc
    if not value or len(value) > _MAX_CREDENTIAL_ID_BYTES or b64u(value) != credential.get("id"):
        raise _invalid(PasskeyFailure.MALFORMED, "id and rawId must be the same credential id")
    return value


def _precheck(
    credential: Mapping[str, Any],
    auth_data: AuthenticatorData,
    *,
    ceremony_type: str,
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
) -> None:
    """The checks of §7.1 steps 7–15 / §7.2 steps 11–17 that carry a stable reason."""
    client_data = _client_data(credential)
    if client_data["type"] != ceremony_type:
        raise _invalid(PasskeyFailure.CEREMONY_TYPE)
    if client_data["challenge"] != b64u(expected_challenge):
        raise _invalid(PasskeyFailure.CHALLENGE)
    if client_data["origin"] not in expected_origins:
        raise _invalid(PasskeyFailure.ORIGIN)
    # A cross-origin iframe assertion is not something our hosted page ever produces.
    if client_data.get("crossOrigin") is True:
        raise _invalid(PasskeyFailure.ORIGIN)
    if auth_data.rp_id_hash != hashlib.sha256(expected_rp_id.encode("utf-8")).digest():
        raise _invalid(PasskeyFailure.RP_ID)
    if not auth_data.flags.up:
        raise _invalid(PasskeyFailure.USER_PRESENCE)
    # MFA means "something the user has, unlocked by something they know or are": UV is mandatory.
    if not auth_data.flags.uv:
        raise _invalid(PasskeyFailure.USER_VERIFICATION)


def verify_registration(
    *,
    credential: Mapping[str, Any],
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
) -> VerifiedPasskey:
    """Verify a registration response (WebAuthn L3 §7.1); ``passkey_invalid`` on any failure."""
    cred = normalise_credential(credential)
    credential_id_of(cred)
    try:
        attestation = parse_attestation_object(b64u_decode(cred["response"]["attestationObject"]))
    except (WebAuthnException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise _invalid(PasskeyFailure.MALFORMED, "attestationObject is malformed") from exc
    _precheck(
        cred,
        attestation.auth_data,
        ceremony_type="webauthn.create",
        expected_challenge=expected_challenge,
        expected_rp_id=expected_rp_id,
        expected_origins=expected_origins,
    )
    try:
        verified = verify_registration_response(
            credential=cred,
            expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id,
            expected_origin=list(expected_origins),
            require_user_presence=True,
            require_user_verification=True,
            supported_pub_key_algs=list(ACCEPTED_ALGORITHMS),
        )
    except WebAuthnException as exc:
        reason = PasskeyFailure.ALGORITHM if "alg" in str(exc) else PasskeyFailure.MALFORMED
        raise _invalid(reason) from exc
    except (KeyError, ValueError, TypeError, IndexError) as exc:  # e.g. a COSE key missing a member
        raise _invalid(PasskeyFailure.MALFORMED) from exc
    from webauthn.helpers import decode_credential_public_key  # local: only needed here

    algorithm = int(decode_credential_public_key(verified.credential_public_key).alg)
    transports = cred["response"].get("transports")
    return VerifiedPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        algorithm=algorithm,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=tuple(t for t in transports if isinstance(t, str))[:8] if isinstance(transports, list) else (),
        backup_eligible=verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )


def sign_count_ok(*, stored: int, presented: int) -> bool:
    """The signature counter rule (WebAuthn L3 §6.1.1, §7.2 step 21).

    Both zero: the authenticator does not implement a counter (most synced passkeys) — allowed.
    Otherwise the presented counter must be strictly greater than the stored one; anything else
    means two copies of the private key exist, i.e. the credential may have been cloned.
    """
    if stored == 0 and presented == 0:
        return True
    return presented > stored


def verify_authentication(
    *,
    credential: Mapping[str, Any],
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    credential_public_key: bytes,
    stored_sign_count: int,
    expected_user_handle: bytes | None = None,
) -> VerifiedAssertion:
    """Verify an assertion (WebAuthn L3 §7.2) and its counter; ``passkey_invalid`` on any failure.

    The counter is checked *after* the signature, so that only a correctly signed assertion — one
    made with the real private key — can mark a credential as cloned (reason ``counter``).
    """
    verified = verify_assertion(
        credential=credential,
        expected_challenge=expected_challenge,
        expected_rp_id=expected_rp_id,
        expected_origins=expected_origins,
        credential_public_key=credential_public_key,
        expected_user_handle=expected_user_handle,
    )
    check_sign_count(stored=stored_sign_count, verified=verified)
    return verified


def check_sign_count(*, stored: int, verified: VerifiedAssertion) -> None:
    """:func:`sign_count_ok` for a verified assertion; ``passkey_invalid`` (reason ``counter``) if not."""
    if not sign_count_ok(stored=stored, presented=verified.new_sign_count):
        raise _invalid(PasskeyFailure.COUNTER, "Passkey sign count did not grow (possibly cloned)")


def verify_assertion(
    *,
    credential: Mapping[str, Any],
    expected_challenge: bytes,
    expected_rp_id: str,
    expected_origins: Sequence[str],
    credential_public_key: bytes,
    expected_user_handle: bytes | None = None,
) -> VerifiedAssertion:
    """Everything of :func:`verify_authentication` but the counter: what depends only on the
    assertion and the credential's public key — so that a caller can verify it outside a
    transaction and judge the counter (:func:`check_sign_count`) on the row as it is at commit."""
    cred = normalise_credential(credential)
    credential_id_of(cred)
    try:
        auth_data = parse_authenticator_data(b64u_decode(cred["response"]["authenticatorData"]))
    except (WebAuthnException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise _invalid(PasskeyFailure.MALFORMED, "authenticatorData is malformed") from exc
    _precheck(
        cred,
        auth_data,
        ceremony_type="webauthn.get",
        expected_challenge=expected_challenge,
        expected_rp_id=expected_rp_id,
        expected_origins=expected_origins,
    )
    user_handle = cred["response"].get("userHandle")
    if expected_user_handle is not None and user_handle:
        try:
            handle_ok = b64u_decode(str(user_handle)) == expected_user_handle
        except ValueError:
            handle_ok = False
        if not handle_ok:
            raise _invalid(PasskeyFailure.USER_HANDLE)
    try:
        verified = verify_authentication_response(
            credential=cred,
            expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id,
            expected_origin=list(expected_origins),
            credential_public_key=credential_public_key,
            # 0 turns py_webauthn's own counter check off: ours runs after the signature.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise _invalid(PasskeyFailure.SIGNATURE) from exc
    except (KeyError, ValueError, TypeError, IndexError) as exc:  # malformed encodings inside the library
        raise _invalid(PasskeyFailure.SIGNATURE) from exc
    return VerifiedAssertion(
        credential_id=verified.credential_id,
        new_sign_count=verified.new_sign_count,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )
