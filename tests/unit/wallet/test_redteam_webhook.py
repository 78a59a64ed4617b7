"""Red-team finding on the delegation webhook's HMAC check (failed before its fix)."""

from __future__ import annotations

from actionmfa.wallet.delegation import sign_body, verify_body


def test_non_ascii_signature_header_is_refused_not_raised() -> None:
    """An attacker-chosen ``signature`` header with non-ASCII text must be a plain refusal
    (hmac.compare_digest on str raises TypeError, which a developer's handler turns into a 500)."""
    secret, body = b"k" * 32, b'{"data":{}}'
    assert verify_body(secret, body, sign_body(secret, body))
    assert not verify_body(secret, body, "é" * 64)
