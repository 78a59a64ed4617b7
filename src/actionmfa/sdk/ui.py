"""``client.ui``: the MFA prompt in a terminal (``client.ui.mfa.show()``) or a browser (``browser=True``).

Asks for a TOTP code or a recovery code with hidden input (``getpass``), retries with a clear
message on a wrong code, waits for the next time step when a code was already used
(``mfa_code_already_used``), and stops with a lockout message on ``mfa_rate_limited``. Resolves with
the MFA token (when ``create_mfa_token``) — the token is also stored and applied automatically.
Without a terminal (stdin not a TTY, e.g. under a service manager or CI) it raises
:class:`PromptUnavailableError` at once rather than failing on end of input.
"""

from __future__ import annotations

import getpass
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO, runtime_checkable

from actionmfa.errors import ActionMFAError, MfaCodeAlreadyUsedError, MfaInvalidCodeError, MfaRateLimitedError


@runtime_checkable
class HasJson(Protocol):
    """A signing request (EVM :class:`~actionmfa.wallet.payloads.SignRequest` or Solana's)."""

    def to_json(self) -> dict[str, Any]: ...


if TYPE_CHECKING:
    from actionmfa.sdk.client import Client

Prompt = Callable[[str], str]
MAX_STEP_WAIT_SECONDS = 30


class PromptUnavailableError(ActionMFAError):
    """The terminal prompt cannot ask: there is no terminal (stdin is not a TTY) or input ended."""

    code = "mfa_prompt_unavailable"
    status = 400
    default_message = (
        "The MFA prompt needs an interactive terminal (stdin is not a TTY): run it in a terminal, "
        "use client.ui.mfa.show(browser=True), or call client.mfa.authenticate_device(code=...)"
    )


def _stdin_is_terminal() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


class MfaPrompt:
    def __init__(
        self,
        client: Client,
        *,
        prompt: Prompt | None = None,
        out: TextIO | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self._c = client
        self._own_prompt = prompt is None  # getpass: needs a terminal
        self._prompt = prompt or (lambda text: getpass.getpass(text))
        self._out = out
        self._sleep = sleep

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
        payload: HasJson | Mapping[str, Any] | None = None,
        action: str | None = None,
        abi: list[dict[str, Any]] | None = None,
        wallet_id: str | None = None,
    ) -> str | None:
        """Prompt until a code is accepted; returns the MFA token (or ``None`` if none was asked).

        ``browser=True`` shows the server's hosted prompt in the user's browser instead of the
        terminal (TOTP, recovery code or passkey); ``open_url`` replaces :func:`webbrowser.open`.

        ``payload`` (a :class:`~actionmfa.wallet.payloads.SignRequest`, e.g.
        ``transaction_request(tx)``, or ``{"kind", "payload"}`` as ``signMessage`` takes it) makes
        the prompt show what is approved — chain, recipient, value, call (decoded with ``abi``),
        fees — as the server describes it, and binds the minted token to that payload
        (``approvalDigest``, which names ``wallet_id``, required with ``payload``): the gate refuses
        it for any other payload or wallet. ``action="wallet.waas.export"``
        shows the export warning instead.
        """
        mint: Any = {"single_use": True} if create_mfa_token is True else (create_mfa_token or None)
        approval = self._approval(payload, action, abi, wallet_id) if payload is not None or action else None
        digest = approval.get("approvalDigest") if approval else None
        if browser:
            from actionmfa.sdk.hosted_prompt import HostedMfaPrompt

            kwargs: dict[str, Any] = {"page_origin": page_origin, "timeout": timeout}
            if open_url is not None:
                kwargs["open_url"] = open_url
            return HostedMfaPrompt(self._c, **kwargs).show(
                mint=mint, requested_scopes=requested_scopes, max_attempts=max_attempts,
                approval_id=approval["approvalId"] if approval else None, approval_digest=digest,
            )
        if self._own_prompt and not _stdin_is_terminal():
            raise PromptUnavailableError()
        if approval:
            self._show_approval(approval)
        else:
            self._say("Multi-factor authentication required.")
        self._say("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
        for attempt in range(1, max_attempts + 1):
            try:
                raw = self._prompt("Code: ").strip()
            except EOFError:
                raise PromptUnavailableError("The MFA prompt's input ended before a code was entered") from None
            if not raw:
                self._say("No code entered.")
                continue
            compact = raw.replace(" ", "").replace("-", "")
            token: str | None
            try:
                if compact.isdigit() and len(compact) == 6:
                    token = self._c.mfa.authenticate_device(
                        code=compact, create_mfa_token=mint, requested_scopes=requested_scopes, approval_digest=digest
                    )
                else:
                    token = self._c.mfa.authenticate_recovery_code(
                        code=compact, create_mfa_token=mint, requested_scopes=requested_scopes, approval_digest=digest
                    )
            except MfaRateLimitedError:
                self._say("Too many attempts. MFA is locked for this account for up to 15 minutes; try again later.")
                raise
            except MfaCodeAlreadyUsedError as err:
                wait = _retry_after(err)
                self._say(f"This code was already used — wait for the next one ({wait} s).")
                if attempt < max_attempts:
                    self._sleep(wait)
                    self._say("Enter the new code from your authenticator app.")
                continue
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

    def _approval(
        self,
        payload: HasJson | Mapping[str, Any] | None,
        action: str | None,
        abi: list[dict[str, Any]] | None,
        wallet_id: str | None,
    ) -> dict[str, Any]:
        """``POST /approvals``: the server's description of what is approved, and its digest."""
        body: dict[str, Any] = {"action": action or "wallet.waas.sign"}
        if wallet_id is not None:
            body["walletId"] = wallet_id
        if payload is not None:
            doc = payload.to_json() if isinstance(payload, HasJson) else dict(payload)
            body.update(kind=doc.get("kind"), payload=doc.get("payload"))
        if abi is not None:
            body["abi"] = abi
        result: dict[str, Any] = self._c.request("POST", "/approvals", json=body)
        return result

    def _show_approval(self, approval: Mapping[str, Any]) -> None:
        self._say(str(approval.get("title", "Approve a sensitive action")))
        details = [(str(d["label"]), str(d["value"])) for d in approval.get("details", [])]
        width = max((len(label) for label, _ in details), default=0)
        for label, value in details:
            self._say(f"  {label.ljust(width)}  {value}")
        if approval.get("warning"):
            self._say(f"WARNING: {approval['warning']}")
        self._say("Check every line: your code approves exactly this request.")


def _retry_after(err: ActionMFAError) -> int:
    """Seconds until the next TOTP step (the server's ``retryAfterSeconds``), capped at one step."""
    value = (err.payload or {}).get("retryAfterSeconds")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_STEP_WAIT_SECONDS:
        return value
    return MAX_STEP_WAIT_SECONDS


class UiResource:
    """``client.ui``. ``input`` and ``out`` replace the terminal prompt's ``getpass`` and stderr
    (a GUI or a test answers the prompt the wallet methods open with ``prompt="terminal"``)."""

    def __init__(self, client: Client) -> None:
        self._c = client
        self.input: Prompt | None = None
        self.out: TextIO | None = None

    @property
    def mfa(self) -> MfaPrompt:
        return MfaPrompt(self._c, prompt=self.input, out=self.out)
