"""``client.ui``: the MFA prompt in a terminal (``client.ui.mfa.show()``) or a browser (``browser=True``).

Asks for a TOTP code or a recovery code with hidden input (``getpass``), retries with a clear
message on a wrong code, and stops with a lockout message on ``mfa_rate_limited``. Resolves with
the MFA token (when ``create_mfa_token``) — the token is also stored and applied automatically.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from actionmfa.errors import ActionMFAError, MfaInvalidCodeError, MfaRateLimitedError

if TYPE_CHECKING:
    from actionmfa.sdk.client import Client

Prompt = Callable[[str], str]


class MfaPrompt:
    def __init__(self, client: Client, *, prompt: Prompt | None = None, out: TextIO | None = None) -> None:
        self._c = client
        self._prompt = prompt or (lambda text: getpass.getpass(text))
        self._out = out

    def _say(self, text: str) -> None:
        print(text, file=self._out or sys.stderr)

    def show(
        self,
        *,
        create_mfa_token: bool | dict[str, bool] = False,
        requested_scopes: list[str] | None = None,
        max_attempts: int = 3,
        browser: bool = False,
        open_url: Callable[[str], Any] | None = None,
        page_origin: str | None = None,
        timeout: float = 300.0,
    ) -> str | None:
        """Prompt until a code is accepted; returns the MFA token (or ``None`` if none was asked).

        ``browser=True`` shows the server's hosted prompt in the user's browser instead of the
        terminal (TOTP, recovery code or passkey); ``open_url`` replaces :func:`webbrowser.open`.
        """
        mint: Any = {"single_use": True} if create_mfa_token is True else (create_mfa_token or None)
        if browser:
            from actionmfa.sdk.hosted_prompt import HostedMfaPrompt

            kwargs: dict[str, Any] = {"page_origin": page_origin, "timeout": timeout}
            if open_url is not None:
                kwargs["open_url"] = open_url
            return HostedMfaPrompt(self._c, **kwargs).show(
                mint=mint, requested_scopes=requested_scopes, max_attempts=max_attempts
            )
        self._say("Multi-factor authentication required.")
        self._say("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
        for attempt in range(1, max_attempts + 1):
            raw = self._prompt("Code: ").strip()
            if not raw:
                self._say("No code entered.")
                continue
            compact = raw.replace(" ", "").replace("-", "")
            token: str | None
            try:
                if compact.isdigit() and len(compact) == 6:
                    token = self._c.mfa.authenticate_device(
                        code=compact, create_mfa_token=mint, requested_scopes=requested_scopes
                    )
                else:
                    token = self._c.mfa.authenticate_recovery_code(
                        code=compact, create_mfa_token=mint, requested_scopes=requested_scopes
                    )
            except MfaRateLimitedError:
                self._say("Too many attempts. MFA is locked for this account for up to 15 minutes; try again later.")
                raise
            except MfaInvalidCodeError:
                left = max_attempts - attempt
                self._say("Invalid code. Please try again." + (f" ({left} attempt(s) left)" if left else ""))
                continue
            except ActionMFAError as err:
                self._say(f"MFA failed: {err.message}")
                raise
            self._say("Verified.")
            return token
        raise MfaInvalidCodeError("Too many invalid codes")


class UiResource:
    def __init__(self, client: Client) -> None:
        self._c = client

    @property
    def mfa(self) -> MfaPrompt:
        return MfaPrompt(self._c)
