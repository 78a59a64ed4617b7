"""Issue 11.2: self-registered users cannot drain the Paillier key pool (services/wallets/fairness.py).

Before: 14 users with 3 unfinished creations each made a victim's creation wait 22 s (the pool was
empty and every request waited 30 s for it, then searched a key inline). The key supply here is a
pool whose generator hands out nothing unless the test says so, so "promptly" is observable
without timing: the victim's creation is served from the pool's reserve, not from a new key.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.domain.wallets import CeremonyKind
from actionmfa.errors import CeremonyLimitError
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets import fairness, keysource, vault
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests.api import wallet_support
from tests.api.wallet_support import make_wallet_user
from tests.conftest import sign_in

shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client
POOL = 6


class Supply:
    """A key generator that blocks until released (the fixture releases it at the end)."""

    def __init__(self, key: PreparedPaillier) -> None:
        self.key = key
        self.permits = threading.Semaphore(0)
        self.handed = 0

    def __call__(self) -> PreparedPaillier:
        self.permits.acquire(timeout=60)
        self.handed += 1
        return self.key


@pytest.fixture
def supply(
    wallet_runtime: Runtime, shared_paillier: PreparedPaillier, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Supply]:
    monkeypatch.setattr(keysource, "TAKE_WAIT_SECONDS", 0.5)
    feed = Supply(shared_paillier)
    wallet_runtime.services.wallets.keys.use(feed, size=POOL)
    yield feed
    feed.permits.release(1000)
    wallet_runtime.services.wallets.keys.close()


def fill(runtime: Runtime, key: PreparedPaillier) -> int:
    keys = runtime.services.wallets.keys
    for _ in range(POOL):
        keys.put(key)
    pool = keys.pool
    assert pool is not None
    return len(pool)


def create(client: TestClient, env_id: str, jwt: str) -> str:
    r = client.post(f"/api/v0/sdk/{env_id}/waas/create", json={"chain": "EVM"},
                    headers={"Authorization": f"Bearer {jwt}"})
    return "ok" if r.status_code == 200 else str(r.json()["code"])


def test_abandoning_users_cannot_take_the_reserve_and_a_victim_is_served_from_it(
    wallet_runtime: Runtime, app_client: TestClient, supply: Supply, shared_paillier: PreparedPaillier,
    clock: FrozenClock, tmp_path: Path,
) -> None:
    victim = make_wallet_user(wallet_runtime, app_client, tmp_path / "victim")
    env = victim.env
    attackers = [sign_in(wallet_runtime, env) for _ in range(14)]
    # 14 users open 3 creations each and never finish them (the pool is kept full meanwhile).
    for who in attackers:
        for _ in range(3):
            fill(wallet_runtime, shared_paillier)
            assert create(app_client, env.id, who.jwt) == "ok"
    assert create(app_client, env.id, attackers[0].jwt) == "wallet_limit_reached"  # 3 open per user
    clock.advance(61)  # every creation expired unfinished: abandoned
    pool = wallet_runtime.services.wallets.keys.pool
    assert pool is not None
    spares = len(pool) - fairness.POOL_RESERVE
    # They try again, 3 each: only the spares above the reserve go, the rest is refused at once.
    outcomes = Counter(create(app_client, env.id, who.jwt) for who in attackers for _ in range(3))
    assert outcomes == Counter({"ok": spares, "wallet_creation_busy": 42 - spares})
    assert len(pool) == fairness.POOL_RESERVE and supply.handed == 0
    # The victim (no unfinished creation) is served from the reserve: no new key was needed.
    wallet = victim.sdk.wallets.create()
    assert wallet.address.startswith("0x") and supply.handed == 0 and pool.inline_fallbacks == 0


def test_waiting_for_a_key_is_capped_per_user_and_per_environment(
    wallet_runtime: Runtime, app_client: TestClient, supply: Supply, tmp_path: Path,
) -> None:
    """With the pool empty, a user's second creation and the environment's fifth waiting one are
    refused at once (no request thread parked on the pool beyond the caps)."""
    owner = make_wallet_user(wallet_runtime, app_client, tmp_path / "u")
    env = owner.env
    users = [sign_in(wallet_runtime, env) for _ in range(fairness.MAX_WAITING_PER_ENVIRONMENT + 1)]
    in_flight = wallet_runtime.services.wallets.keygen.in_flight
    wallet_runtime.services.wallets.keys.start()
    with ThreadPoolExecutor(len(users) + 1) as pool:
        waiting = [pool.submit(create, app_client, env.id, who.jwt) for who in users[:-1]]
        deadline = threading.Event()
        for _ in range(200):
            if in_flight.waiting(env.id) == fairness.MAX_WAITING_PER_ENVIRONMENT:
                break
            deadline.wait(0.05)
        assert in_flight.waiting(env.id) == fairness.MAX_WAITING_PER_ENVIRONMENT
        assert create(app_client, env.id, users[-1].jwt) == "wallet_creation_busy"  # the environment's cap
        assert create(app_client, env.id, users[0].jwt) == "wallet_creation_busy"  # already waiting
        supply.permits.release(len(waiting) + POOL)
        assert [f.result(timeout=60) for f in waiting] == ["ok"] * len(waiting)


def test_open_ceremonies_are_capped_per_user(wallet_runtime: Runtime, clock: FrozenClock) -> None:
    from tests.conftest import make_environment

    env = make_environment(wallet_runtime)
    who = sign_in(wallet_runtime, env)
    box = wallet_runtime.services.wallets.vault

    def open_one(n: int) -> None:
        with wallet_runtime.db.write() as uow:
            box.open_ceremony(uow, ceremony_id=f"00000000-0000-0000-0000-{n:012d}", environment_id=env.id,
                              user_id=who.user.id, session_id=who.session_id, wallet_id=None,
                              kind=CeremonyKind.KEYGEN, state={"n": n}, now=clock.now())

    for n in range(vault.MAX_OPEN_CEREMONIES_PER_USER):
        open_one(n)
    with pytest.raises(CeremonyLimitError) as err:
        open_one(999)
    assert err.value.code == "ceremony_limit_reached" and err.value.status == 429
    clock.advance(61)  # expired ceremonies no longer count
    open_one(1000)
