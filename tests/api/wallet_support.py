"""Fixtures for the wallet API tests: fast Paillier keys, an SDK client bound to the app, MFA tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actionmfa.domain.models import AuthContext
from actionmfa.sdk.client import Client
from actionmfa.services.runtime import Runtime
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.conftest import EnvFixture, SignedIn, make_environment, sign_in

WALLET_MFA_SETTINGS = {
    "security": {
        "mfa": {
            "enabled": False,
            "enrollment": "signup",
            "actions": [
                {"action": "wallet.waas.sign", "required": True},
                {"action": "wallet.waas.export", "required": True},
                {"action": "wallet.waas.refresh", "required": True},
            ],
        }
    }
}


@pytest.fixture(scope="session")
def shared_paillier() -> PreparedPaillier:
    """One fixed 2048-bit key (tests/vectors/wallet_keys.json) with its Πmod and Πprm, for every test."""
    return wallet_keys.server_keys()[0]


@pytest.fixture
def wallet_runtime(runtime_any: Runtime, shared_paillier: PreparedPaillier) -> Runtime:
    """A runtime on each backend in turn (SQLite, PostgreSQL) with a fast Paillier key generator."""
    runtime_any.services.wallets.keys.use(lambda: shared_paillier, size=1)
    runtime_any.services.wallets.keys.rings = wallet_keys.verified_rings()  # each fixed ring checked once
    return runtime_any


@pytest.fixture
def app_client(wallet_runtime: Runtime) -> Iterator[TestClient]:
    """The app around ``wallet_runtime`` (overrides the SQLite-only ``app_client`` of tests/conftest.py)."""
    from actionmfa.api.app import create_app

    with TestClient(create_app(wallet_runtime, migrate=False), raise_server_exceptions=False) as client:
        yield client


@dataclass
class WalletUser:
    env: EnvFixture
    signed_in: SignedIn
    sdk: Client

    def ctx(self, runtime: Runtime) -> AuthContext:
        with runtime.db.read() as uow:
            return runtime.sessions.authenticate(uow, self.env.id, self.signed_in.jwt)

    def mint_mfa_token(self, runtime: Runtime, *, single_use: bool = True) -> str:
        ctx = self.ctx(runtime)
        with runtime.db.write() as uow:
            return runtime.services.core.tokens.mint_mfa_token(uow, ctx, single_use=single_use, via="test")


def make_wallet_user(runtime: Runtime, app_client: TestClient, share_dir: Path,
                     settings: dict[str, object] | None = None) -> WalletUser:
    env = make_environment(runtime, settings=settings)
    who = sign_in(runtime, env)
    sdk = Client(env.id, http_client=app_client)
    sdk.session.jwt = who.jwt
    sdk.session.user = {"id": who.user.id}
    sdk.wallets.configure(share_dir=share_dir, ring=wallet_keys.client_ring())
    return WalletUser(env, who, sdk)


@pytest.fixture
def open_user(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path) -> WalletUser:
    """A signed-in user of an environment where wallet actions do not need MFA."""
    return make_wallet_user(wallet_runtime, app_client, tmp_path / "shares")


@pytest.fixture
def mfa_user(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path) -> WalletUser:
    """A signed-in user of an environment where signing and export need MFA."""
    return make_wallet_user(wallet_runtime, app_client, tmp_path / "shares", WALLET_MFA_SETTINGS)
