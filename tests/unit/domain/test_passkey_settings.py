"""The relying-party settings (``security.passkeys``): normalised origins, a real rp id."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from actionmfa.domain.settings import PasskeySettings


def test_origins_are_normalised_like_client_data() -> None:
    s = PasskeySettings(
        rpId="Example.COM",
        origins=["https://App.Example.com:443/", "https://pay.example.com:8443", "https://example.com"],
    )
    assert s.rpId == "example.com"
    assert s.origins == ["https://app.example.com", "https://pay.example.com:8443", "https://example.com"]


def test_localhost_may_use_http() -> None:
    assert PasskeySettings(rpId="localhost", origins=["http://localhost:8080"]).origins == ["http://localhost:8080"]


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        ("example.com", ["https://example.org"]),  # not a suffix
        ("ample.com", ["https://example.com"]),  # suffix as a string, not as labels
        ("example.com", ["http://example.com"]),  # WebAuthn needs a secure context
        ("127.0.0.1", ["https://127.0.0.1"]),  # an IP address is no rp id
        ("com", ["https://example.com"]),  # a bare top-level label
        ("example.com", ["https://example.com/path"]),
        ("example.com", ["https://example.com?x=1"]),
        ("example.com", ["https://user@example.com"]),
        ("example.com", []),
        ("exa mple.com", ["https://example.com"]),
    ],
)
def test_refused(rp_id: str, origins: list[str]) -> None:
    with pytest.raises(ValidationError):
        PasskeySettings(rpId=rp_id, origins=origins)
