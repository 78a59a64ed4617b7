"""Schemathesis hooks for ``test_schemathesis.py`` (loaded by the CLI through ``SCHEMATHESIS_HOOKS``).

Auth: SDK routes get the signed-in user's session JWT; the operator API the operator token; the two
routes that end a session (``logout``, ``revoke``) a session of their own, signed in for that case
with the developer's JWT (``externalAuth/signin``), so the shared session outlives the run.
The check ``schema_valid_is_not_refused`` fails when a request Schemathesis generated as valid is
answered ``422 invalid_request``: the document is looser than the server's validation.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import httpx
import jwt
import schemathesis
from schemathesis import Case

WORLD: dict[str, Any] = json.loads(os.environ["ACTIONMFA_ST_WORLD"])
ENDS_SESSION = ("/logout", "/revoke")


def _fresh_session() -> str:
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": WORLD["iss"], "aud": WORLD["aud"], "sub": f"st-{uuid.uuid4().hex}", "iat": now, "exp": now + 300},
        WORLD["idpKeyPem"], algorithm="ES256",
    )
    url = f"{WORLD['baseUrl']}/api/v0/sdk/{WORLD['sdkEnvironment']}/externalAuth/signin"
    answer = httpx.post(url, json={"jwt": assertion}, timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["jwt"]
    return token


@schemathesis.auth(refresh_interval=None)  # per operation: never cached
class ActionMfaAuth:
    def get(self, case: Case, ctx: Any) -> str:
        path = case.operation.path
        if path.startswith("/api/v0/sdk/"):
            if path.endswith(ENDS_SESSION):
                return _fresh_session()
            token: str = WORLD["userJwt"]
            return token
        if "/delegatedAccess/signMessage" in path:
            return "dak_" + "0" * 43  # well formed, never issued: the delegate's routes answer 401
        operator: str = WORLD["operatorToken"]
        return operator

    def set(self, case: Case, data: str, ctx: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# Content whose validity JSON Schema cannot state, so a schema-valid value may be refused with the
# field named (each refusal is ``422 invalid_request`` with ``field``). The document describes the
# shape of each; the server checks the content. Anything else refused is the document's fault.
CONTENT_CHECKED_BY_THE_SERVER: dict[str, str] = {
    "payload": "what is signed: an EIP-712 document, a transaction or an authorization, checked by eth-account",
    "response": "a WebAuthn credential response, checked by the verifier (both casings of clientDataJSON agree)",
    "recipientPublicKey": "a P-256 public key (SPKI DER, base64) the export is sealed to",
    "newThresholdSignatureScheme": "one of the two reshares (2-of-2 to 2-of-3 delegating, 2-of-3 to 2-of-2 revoking)",
    "message": "a round's protocol message (wallet/messages.py): points, proofs, ciphertexts",
    "settings.security.externalAuth": "a PEM key that parses, a JWKS URL the server may fetch, iss/aud when enabled",
    "settings.security.delegatedAccess": "an RSA key of >= 2048 bits, an https webhook URL, both when enabled",
    "settings.security.passkeys": "origins the browser serialises, under the rp id, https unless localhost",
    "settings.security.jwtDuration": "at most 90 days (amount times unit)",
    "settings.security.mfa": "each action listed once",
    "settings.webhooks": "an https webhook URL (http only for a loopback host)",
}


# What is signed is checked member by member (wallet/payloads.py names the member: chainId, to, …).
SIGNING = ("/signMessage", "/signMessage/{ceremonyId}/nonce", "/signMessage/{ceremonyId}/complete")
SIGNING_BODY = ("kind", "keyVersion")


def _content_checked_by_the_server(case: Case, field: object) -> bool:
    if not isinstance(field, str):
        return False
    if case.operation.path.endswith(SIGNING) and field not in SIGNING_BODY:
        return True
    if case.operation.path.endswith("/approvals") and field not in ("action", "abi"):
        return True  # what is signed, as above; and a signature's approval needs its kind (a rule across fields)
    if case.operation.path.endswith("/waas/pregenerated") and (
            field in ("identities", "identifier") or field.startswith("identities[")):
        return True  # an email address when type is email (normalised as the sign-in does); identities or identifier
    return any(field == prefix or field.startswith(prefix + ".") for prefix in CONTENT_CHECKED_BY_THE_SERVER)


@schemathesis.check
def schema_valid_is_not_refused(ctx: Any, response: Any, case: Case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if body.get("code") in ("invalid_request", "invalid_scopes") and not _content_checked_by_the_server(
        case, body.get("field")
    ):
        raise AssertionError(f"a schema-valid request was refused: {response.text[:300]}")
    return None
