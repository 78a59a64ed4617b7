"""The store implements the storage interfaces the services declare (``services/<area>/ports.py``),
on SQLite and on PostgreSQL; the behaviour behind them is the rest of this contract suite."""

from __future__ import annotations

import pytest

from actionmfa.services.core import ports as core
from actionmfa.services.mfa import ports as mfa
from actionmfa.services.operator import ports as operator
from actionmfa.services.passkeys import ports as passkeys
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin import ports as signin
from actionmfa.services.wallets import ports as wallets

PORTS = [
    ("environments", core.EnvironmentStore),
    ("admin_tokens", core.AdminTokenStore),
    ("signing_keys", core.SigningKeyStore),
    ("users", core.UserStore),
    ("sessions", core.SessionStore),
    ("tokens", core.TokenStore),
    ("audit", core.AuditStore),
    ("mfa", core.DeviceCounts),
    ("mfa", mfa.LockoutStore),
    ("mfa", mfa.MfaStore),
    ("mfa", operator.MfaAdminStore),
    ("passkeys", core.PasskeyCounts),
    ("passkeys", mfa.PasskeyReads),
    ("passkeys", passkeys.PasskeyStore),
    ("passkeys", operator.PasskeyAdminStore),
    ("email_verifications", signin.EmailVerificationStore),
    ("wallets", wallets.WalletStore),
]


@pytest.mark.parametrize(("attribute", "port"), PORTS, ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_the_unit_of_work_offers_every_port(runtime_any: Runtime, attribute: str, port: type) -> None:
    with runtime_any.db.read() as uow:
        store = getattr(uow, attribute)
        assert isinstance(store, port), f"uow.{attribute} ({type(store).__name__}) lacks {port.__name__} methods"
        missing = [name for name in dir(port) if not name.startswith("_") and not callable(getattr(store, name, None))]
        assert not missing
