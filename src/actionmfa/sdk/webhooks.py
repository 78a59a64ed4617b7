"""``verify_webhook``: check an ActionMFA webhook delivery before acting on it (issue 13.4).

The verifier itself lives in :mod:`actionmfa.webhook_verify` (shared with the delegate's side of
delegated access, :func:`actionmfa.wallet.delegation.open_delegation`)::

    from actionmfa.sdk.webhooks import verify_webhook

    event = verify_webhook(request.body, request.headers, secret)   # raises WebhookVerificationError
    if seen(event["eventId"]): return 204
"""

from actionmfa.webhook_verify import DEFAULT_TOLERANCE_SECONDS, WebhookVerificationError, verify_webhook

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "WebhookVerificationError", "verify_webhook"]
