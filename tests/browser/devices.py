"""A browser page with a CDP virtual authenticator, shared by the browser tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ES256, EDDSA = -7, -8
_ES256_FIRST = '{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -8}'
_EDDSA_FIRST = '{"type": "public-key", "alg": -8}, {"type": "public-key", "alg": -7}'


class VirtualDevice:
    """A page with a CDP virtual authenticator (ctap2, internal, resident key, UV)."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.authenticator_id = self._add_authenticator()

    def _add_authenticator(self) -> str:
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        return str(self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        return list(self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})["credentials"])

    def replace_with_clone(self, credential: dict[str, Any], sign_count: int) -> None:
        """Chromium allows one internal virtual authenticator: swap in a new one holding a copy."""
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator_id})
        self.authenticator_id = self._add_authenticator()
        keep = ("credentialId", "isResidentCredential", "rpId", "privateKey", "userHandle", "backupEligibility")
        clone = {k: credential[k] for k in keep if k in credential}
        clone.setdefault("isResidentCredential", True)
        clone["signCount"] = sign_count
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.authenticator_id, "credential": clone})

    def prefer(self, algorithm: int) -> None:
        """Reorder the offered algorithms in the hosted page (the ceremony itself is untouched)."""
        if algorithm != EDDSA:
            return

        def handler(route: Any) -> None:
            response = route.fetch()
            body = response.text()
            assert _ES256_FIRST in body or "excludeCredentials" not in body
            route.fulfill(response=response, body=body.replace(_ES256_FIRST, _EDDSA_FIRST))

        self.page.route("**/passkeys/ceremony/**", handler)

    def open_url(self) -> Callable[[str], None]:
        def run(url: str) -> None:
            self.page.goto(url)
            self.page.click("#start")
            self.page.wait_for_selector("#done", timeout=20_000)

        return run

    def close(self) -> None:
        self.context.close()
