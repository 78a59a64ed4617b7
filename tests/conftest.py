"""Shared fixtures, named for the state they build."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.domain.models import Environment, User
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.databases import PostgresProvider, SqliteProvider

# CI runs property tests derandomized: the same examples every run, so a red build names a change,
# not a lucky draw (developers' runs keep exploring new examples).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Servers that tests start as processes inherit this: no 2048-bit prime search competing with the
# tests for the CPU (wallet tests inject their own key generator).
os.environ.setdefault("ACTIONMFA_WALLET_POOL_WARM", "false")


# The tests that take minutes, started first: under pytest-xdist (scripts/test runs ``-n auto``) the
# first batch is dealt to the workers in turn, so these run beside the rest of the suite instead of
# being left for the end with every other worker idle. Ordered longest first (CI's --durations).
LONG_RUNNING_FIRST = (
    "tests/test_readme_first_screen.py::test_the_first_screen_from_a_clean_clone",
    "tests/openapi/test_schemathesis.py",
    "tests/compat/test_dynamic_sdk_api.py",  # npm ci, then Dynamic's clients
    "tests/contract/test_mfa_concurrency.py::test_single_use_token_two_server_processes",
    "tests/ops/test_kill_under_load.py",
    "tests/cli/test_demo.py",
    "tests/api/test_wallet_pending_delegation.py::test_operator_revokes_every_wallet",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((n for n, prefix in enumerate(LONG_RUNNING_FIRST) if item.nodeid.startswith(prefix)),
                    len(LONG_RUNNING_FIRST))

    items.sort(key=rank)  # stable: every other test keeps its order
    _drop_postgres_duplicates(config, items)


def _drop_postgres_duplicates(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.sqlite_suffices``: a test of the protocol, the SDK or payload rules that runs on the
    backend-parametrized fixtures (``database_url``) keeps its SQLite run only. PostgreSQL runs stay
    wherever the database's behaviour can differ — transactions, row locks, races, SQL, migrations."""
    dropped = [item for item in items if item.get_closest_marker("sqlite_suffices") is not None
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("database_url") == "postgres"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in set(dropped)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresProvider]:
    provider = PostgresProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def sqlite_provider(tmp_path_factory: pytest.TempPathFactory) -> SqliteProvider:
    return SqliteProvider(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, sqlite_provider: SqliteProvider, postgres: PostgresProvider
) -> Iterator[str]:
    """A fresh, migrated database of each kind: the contract suite runs once per backend."""
    if request.param == "sqlite":
        yield sqlite_provider.fresh_url()
        return
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    url = postgres.fresh_url()
    yield url
    postgres.drop(url)


@pytest.fixture
def sqlite_url(sqlite_provider: SqliteProvider) -> str:
    return sqlite_provider.fresh_url()


@pytest.fixture
def postgres_url(postgres: PostgresProvider) -> Iterator[str]:
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    url = postgres.fresh_url()
    yield url
    postgres.drop(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "data", mail_log=True)


def build_runtime(url: str, config: ServerConfig, clock: FrozenClock, keyring: Keyring) -> Runtime:
    return Runtime.build(config, clock=clock, keyring=keyring, db=Database(url))


@pytest.fixture
def runtime(sqlite_url: str, config: ServerConfig, clock: FrozenClock, keyring: Keyring) -> Iterator[Runtime]:
    """A runtime on a fresh SQLite file (use ``runtime_any`` for the contract suite)."""
    rt = build_runtime(sqlite_url, config, clock, keyring)
    yield rt
    rt.db.dispose()


@pytest.fixture
def runtime_any(database_url: str, config: ServerConfig, clock: FrozenClock, keyring: Keyring) -> Iterator[Runtime]:
    """A runtime on each backend in turn (SQLite, PostgreSQL)."""
    rt = build_runtime(database_url, config, clock, keyring)
    yield rt
    rt.db.dispose()


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[TestClient]:
    from actionmfa.api.app import create_app

    with TestClient(create_app(runtime, migrate=False), raise_server_exceptions=False) as client:
        yield client


@dataclass
class EnvFixture:
    environment: Environment
    admin_token: str

    @property
    def id(self) -> str:
        return self.environment.id

    def sdk(self, path: str) -> str:
        return f"/api/v0/sdk/{self.environment.id}{path}"


def make_environment(runtime: Runtime, name: str = "Acme", settings: dict[str, object] | None = None) -> EnvFixture:
    with runtime.db.write() as uow:
        created = runtime.environments.create(uow, name=name, settings=settings)
    return EnvFixture(created.environment, created.admin_token)


@pytest.fixture
def environment(runtime: Runtime) -> EnvFixture:
    return make_environment(runtime)


@dataclass
class SignedIn:
    user: User
    jwt: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.jwt}"}


def sign_in(runtime: Runtime, env: EnvFixture, email: str | None = None) -> SignedIn:
    """A user with a live session, created through the services (no sign-in route involved)."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    with runtime.db.write() as uow:
        user = uow.users.by_email(env.id, email) or uow.users.add(
            id=str(uuid.uuid4()), environment_id=env.id, email=email, external_id=None, now=runtime.clock.now()
        )
        issued = runtime.sessions.start(uow, env.environment, user, auth_method="email")
    return SignedIn(user=issued.user, jwt=issued.jwt, session_id=issued.session.id)


@pytest.fixture
def signed_in_user(runtime: Runtime, environment: EnvFixture) -> SignedIn:
    return sign_in(runtime, environment)
