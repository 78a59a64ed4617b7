"""The SDK's exception tree: the server's own error classes (:mod:`actionmfa.errors`).

Every failed call raises the class whose ``code`` the server answered with, carrying
``status_code``, ``code``, ``message``, ``field`` and the ``request_id`` the SDK sent::

    from actionmfa.sdk.errors import InvalidVerificationCodeError, MfaRequiredError

Every error class of :mod:`actionmfa.errors` is importable from here (a test keeps it so), plus the
SDK's own :class:`PasskeyCeremonyError` (the authenticator produced no credential) and
:class:`PromptUnavailableError` (the terminal prompt has no terminal) and :class:`WebhookVerificationError`
(a webhook delivery failed :func:`actionmfa.sdk.webhooks.verify_webhook`).
"""

from actionmfa.errors import *  # noqa: F403 - deliberate re-export of the one error vocabulary
from actionmfa.errors import __all__ as _server_errors
from actionmfa.sdk.authenticators import PasskeyCeremonyError
from actionmfa.sdk.ui import PromptUnavailableError
from actionmfa.sdk.webhooks import WebhookVerificationError

__all__ = [*_server_errors, "PasskeyCeremonyError", "PromptUnavailableError", "WebhookVerificationError"]
