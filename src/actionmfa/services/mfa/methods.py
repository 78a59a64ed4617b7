"""The MFA core's questions about a user's methods that other areas ask too."""

from __future__ import annotations

from actionmfa.domain.actions import SessionScope
from actionmfa.domain.models import Environment, User
from actionmfa.domain.policy import has_any_method as _any_method_rule
from actionmfa.domain.policy import session_scope_at_sign_in
from actionmfa.services.core.methods import has_verified_method
from actionmfa.services.core.ports import CoreUnit


def sign_in_scope(uow: CoreUnit, env: Environment, user: User) -> SessionScope:
    """Scope of a new session: ``requiresAdditionalAuth`` when session MFA applies (policy module)."""
    mfa = env.settings.security.mfa
    return session_scope_at_sign_in(mfa, has_verified_method=has_verified_method(uow, user.id, mfa))


def has_any_method(uow: CoreUnit, user_id: str) -> bool:
    """A verified TOTP device or any passkey, whatever the settings say about counting them
    (:func:`actionmfa.domain.policy.has_any_method`)."""
    verified = uow.mfa.count_verified_devices(user_id)
    passkeys = uow.passkeys.count_for_user(user_id) if verified == 0 else 0
    return _any_method_rule(verified_devices=verified, passkeys=passkeys)
