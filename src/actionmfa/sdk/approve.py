"""The wallet methods' own MFA prompt: ``wallet.sign_transaction(tx, prompt="terminal")``.

When the gate answers ``mfa_required`` (or a stored token does not fit), the method shows
``client.ui.mfa.show(payload=…)`` — the approval prompt that names the app, the action and the
payload, in the terminal or the hosted page — mints a single-use token bound to that payload
(``approvalDigest``) and opens the ceremony again, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from actionmfa.errors import MfaRequiredError, MfaTokenInvalidError
from actionmfa.wallet.payloads import SignRequest

PromptMode = Literal["terminal", "browser"] | None
T = TypeVar("T")


def open_with_prompt(
    client: Any,
    prompt: PromptMode,
    open_: Callable[[], T],
    *,
    payload: SignRequest | None = None,
    action: str | None = None,
    wallet_id: str | None = None,
) -> T:
    try:
        return open_()
    except (MfaRequiredError, MfaTokenInvalidError):
        ui = getattr(client, "ui", None)
        if prompt is None or ui is None:
            raise
    ui.mfa.show(create_mfa_token=True, payload=payload, action=action, wallet_id=wallet_id,
                browser=prompt == "browser")
    return open_()
