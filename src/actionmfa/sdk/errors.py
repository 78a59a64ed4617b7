"""The SDK's exception tree: the server's own error classes (:mod:`actionmfa.errors`).

Every failed call raises the class whose ``code`` the server answered with, carrying
``status_code``, ``code``, ``message``, ``field`` and the ``request_id`` the SDK sent::

    from actionmfa.sdk.errors import InvalidVerificationCodeError, MfaRequiredError
"""

from actionmfa.errors import *  # noqa: F403 - deliberate re-export of the one error vocabulary
from actionmfa.errors import __all__ as __all__
