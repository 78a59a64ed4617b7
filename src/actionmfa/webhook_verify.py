"""``verify_webhook``: check an ActionMFA webhook delivery before acting on it (issue 13.4).

One verifier for every receiver: the SDK re-exports it (:mod:`actionmfa.sdk.webhooks`) and the
delegate's side of delegated access (:func:`actionmfa.wallet.delegation.open_delegation`) calls it,
so a replayed delegation delivery is refused by the same window. It sits below both layers (it
needs only :mod:`actionmfa.errors`).

Deliveries follow the Standard Webhooks signature scheme (standardwebhooks.com, "Verifying
signatures"): ``webhook-signature`` holds one or more ``v1,<base64 HMAC-SHA256(secret,
webhook-id.webhook-timestamp.body)>`` (several while a rotated secret overlaps the new one), and a
timestamp older (or newer) than ``tolerance_seconds`` is refused — a captured delivery replayed later
fails even though its signature is genuine. Deduplicate on the returned ``eventId`` (a redelivery keeps
it)::

    from actionmfa.sdk.webhooks import verify_webhook

    event = verify_webhook(request.body, request.headers, secret)   # raises WebhookVerificationError
    if seen(event["eventId"]): return 204
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from actionmfa.errors import ActionMFAError

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "WebhookVerificationError", "verify_webhook"]

DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(ActionMFAError):
    """A webhook delivery whose signature, timestamp or body does not check out: ignore it."""

    code = "webhook_verification_failed"
    status = 400
    default_message = "Webhook delivery could not be verified"


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode()


def verify_webhook(body: bytes | str, headers: Mapping[str, str], secret: str | bytes | Sequence[str | bytes], *,
                   tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> dict[str, Any]:
    """The delivered event (decoded JSON) if ``body`` was signed by one of ``secret`` (a list while
    you rotate; empty secrets are ignored) within ``tolerance_seconds`` of ``now``; else
    :class:`WebhookVerificationError`.
    ``body`` must be the raw bytes received (not re-serialised JSON)."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id, stamp, signatures = (lowered.get(h, "") for h in ("webhook-id", "webhook-timestamp",
                                                                 "webhook-signature"))
    # ASCII digits only, and few of them: str.isdigit() also accepts "²" or "١", and int() raises
    # ValueError on those (and on more than 4,300 digits) — a refusal, never an exception.
    if not event_id or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or not signatures:
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_seconds:
        raise WebhookVerificationError("Webhook timestamp outside the replay window")
    # An empty secret is a key everyone knows (HMAC under b"" is a plain hash): ignored, so that
    # ``[new, os.environ.get("OLD", "")]`` while rotating never accepts a forgery.
    secrets = [s for s in ([secret] if isinstance(secret, str | bytes) else list(secret)) if s]
    if not secrets:
        raise WebhookVerificationError("No webhook secret to verify with")
    content = f"{event_id}.{stamp}.".encode() + raw
    expected = [hmac.new(_secret_bytes(s), content, hashlib.sha256).digest() for s in secrets]
    presented = []
    for part in signatures.split():
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        try:
            presented.append(base64.b64decode(value, validate=True))
        except ValueError:
            continue
    if not any(hmac.compare_digest(p, e) for p in presented for e in expected):
        raise WebhookVerificationError("Webhook signature does not match")
    try:
        event: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("Webhook body is not JSON") from None
    if not isinstance(event, dict) or event.get("eventId") != event_id:
        raise WebhookVerificationError("Webhook body is for another event")
    return event
