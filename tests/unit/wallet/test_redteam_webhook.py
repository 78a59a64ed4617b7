"""Red-team finding on the delegation webhook's HMAC check (failed before its fix)."""

from __future__ import annotations

from actionmfa.wallet.delegation import sign_body, verify_body


def test_non_ascii_signature_header_is_refused_not_raised() -> None:
    """An attacker-chosen ``signature`` header with non-ASCII text must be a plain refusal
    (hmac.compare_digest on str raises TypeError, which a developer's handler turns into a 500)."""
    secret, body = b"k" * 32, b'{"data":{}}'
    assert verify_body(secret, body, sign_body(secret, body))
    assert not verify_body(secret, body, "é" * 64)
    assert not verify_body(b"", body, sign_body(b"", body))  # the empty key is everyone's


def _delivery(stamp: str) -> dict[str, str]:
    return {"webhook-id": "evt_1", "webhook-timestamp": stamp, "webhook-signature": "v1,AAAA"}


def test_webhook_timestamp_that_is_not_ascii_digits_is_refused_not_raised() -> None:
    """``str.isdigit`` accepts "²³" (a latin-1 header value) and a 5,000-digit string, on which
    ``int()`` raises ValueError: a receiver catching WebhookVerificationError (and open_delegation,
    which catches only that) answered 500 instead of refusing the delivery."""
    import pytest

    from actionmfa.errors import WalletProofInvalidError
    from actionmfa.wallet.delegation import open_delegation
    from actionmfa.webhook_verify import WebhookVerificationError, verify_webhook

    for stamp in ("\u00b2\u00b3", "\u0661\u0662\u0663", "9" * 5000):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(b'{"eventId":"evt_1"}', _delivery(stamp), "k", now=0)
        with pytest.raises(WalletProofInvalidError):
            open_delegation(b'{"eventId":"evt_1"}', _delivery(stamp), hmac_secret="k",
                            private_key=None, now=0)  # type: ignore[arg-type]  # refused before it is used


def test_an_empty_webhook_secret_never_verifies_a_forgery() -> None:
    """HMAC under the empty key is a hash anyone computes: a receiver rotating with
    ``[new, os.environ.get("OLD_SECRET", "")]`` accepted a delivery forged with the secret ``""``.
    An empty secret in the list is ignored; no usable secret at all is a refusal."""
    import base64
    import hashlib
    import hmac as hmac_mod

    import pytest

    from actionmfa.webhook_verify import WebhookVerificationError, verify_webhook

    body, stamp = b'{"eventId":"evt_1","data":{}}', "1000"
    forged = base64.b64encode(hmac_mod.new(b"", b"evt_1.1000." + body, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "evt_1", "webhook-timestamp": stamp, "webhook-signature": f"v1,{forged}"}
    for secret in ("", b"", ["real-secret", ""], [], [""]):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(body, headers, secret, now=1000)  # type: ignore[arg-type]
    good = base64.b64encode(hmac_mod.new(b"real-secret", b"evt_1.1000." + body, hashlib.sha256).digest()).decode()
    assert verify_webhook(body, {**headers, "webhook-signature": f"v1,{good}"}, ["real-secret", ""], now=1000)
