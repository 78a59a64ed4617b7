"""Crash-safe share changes (issue 9.6): an answer lost at every round of keygen, refresh and reshare.

The transport between SDK and app is wrapped so that one chosen request is **processed by the real
server** and its answer then dropped (``httpx.ReadError``), as a network cut after the server commits
would do. Then either the same object retries (the network is back), or the process dies (every
later request of that client fails) and a *new* ``Client`` over the same share directory — signed in
afresh, so a new session — retries. Either way the wallet ends up signing and exporting, with no
second wallet created and the wallet never locked. Each case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import cycle
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.sdk.client import Client
from actionmfa.sdk.wallets import Wallet
from actionmfa.services.runtime import Runtime
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser, make_wallet_user
from tests.conftest import sign_in

shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client

# A retry by the same object differs from a new process's only in the SDK's memory, not in what the
# database does: it runs on SQLite; the new-process retries (a new session) run on both backends.
SAME_OBJECT_ON_SQLITE = pytest.mark.sqlite_suffices

KEYGEN_ROUNDS = [r"/waas/create$", r"/waas/create/[^/]+$"]
REFRESH_ROUNDS = [r"/refresh$", r"/refresh/[^/]+$", r"/refresh/[^/]+/confirm$"]
RESHARE_ROUNDS = [r"/reshare$", r"/reshare/[^/]+$", r"/reshare/[^/]+/confirm$"]


class LossyHttp:
    """An ``httpx.Client`` stand-in: forwards every request to the app; the first POST whose path
    matches ``pattern`` is processed and its answer dropped. With ``then_down`` every later request
    fails without reaching the server (the process is as good as dead)."""

    def __init__(self, inner: TestClient) -> None:
        self.inner = inner
        self.pattern: str | None = None
        self.then_down = False
        self.down = False
        self.dropped = 0

    def arm(self, pattern: str, *, then_down: bool) -> None:
        self.pattern, self.then_down, self.down = pattern, then_down, False

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("network down")
        response = self.inner.request(method, url, **kwargs)
        if self.pattern is not None and method == "POST" and re.search(self.pattern, url):
            self.pattern, self.down, self.dropped = None, self.then_down, self.dropped + 1
            raise httpx.ReadError("answer lost after the server processed the request")
        return response

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def key_cycle(shared_paillier: PreparedPaillier) -> list[PreparedPaillier]:
    """Six keys handed out in turn: at most four are taken between two commits (a lost reshare
    opening and its retry take two each), so a share change never gets the wallet's current key."""
    return [shared_paillier, *(PreparedPaillier.generate(2048, safe_primes=False) for _ in range(5))]


@pytest.fixture
def cycling_keys(wallet_runtime: Runtime, key_cycle: list[PreparedPaillier]) -> None:
    keys = cycle(key_cycle)
    wallet_runtime.services.wallets.keys.use(lambda: next(keys), size=1)


@pytest.fixture
def receiver() -> Iterator[str]:
    """A delegation webhook that accepts everything (what it receives is tested elsewhere)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/delegation"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def developer_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _lossy_user(runtime: Runtime, app: TestClient, share_dir: Path,
                settings: dict[str, object] | None = None) -> tuple[WalletUser, LossyHttp]:
    user = make_wallet_user(runtime, app, share_dir, settings)
    lossy = LossyHttp(app)
    user.sdk._http = cast(httpx.Client, lossy)  # the SDK sends through the lossy transport
    return user, lossy


def _new_process(runtime: Runtime, app: TestClient, user: WalletUser, share_dir: Path) -> Client:
    """A new Client over the same share directory, signed in again (a new session)."""
    again = sign_in(runtime, user.env, email=user.signed_in.user.email)
    assert again.session_id != user.signed_in.session_id
    sdk = Client(user.env.id, http_client=app)
    sdk.session.jwt = again.jwt
    sdk.session.user = {"id": again.user.id}
    sdk.wallets.configure(share_dir=share_dir)
    return sdk


def _works(wallet: Wallet, key: str | None = None) -> str:
    """The wallet signs (checked with eth-account) and exports; returns the exported key."""
    text = f"after a lost answer {wallet.key_version}"
    signed = wallet.sign_message(text)
    assert Account.recover_message(encode_defunct(text=text), signature=signed.signature) == wallet.address
    exported = wallet.export_private_key()
    assert Account.from_key(bytes.fromhex(exported)).address == wallet.address
    if key is not None:
        assert exported == key
    return exported


def _retry(call: Callable[[], Any], between: Callable[[], object] = lambda: None) -> Any:
    """The caller's retry after an error: once the call raised, run it again."""
    try:
        return call()
    except httpx.TransportError:
        between()
        return call()


@pytest.mark.parametrize("round_pattern", KEYGEN_ROUNDS, ids=["open", "finish"])
@pytest.mark.parametrize("mode", [pytest.param("same-object", marks=SAME_OBJECT_ON_SQLITE), "new-process"])
def test_keygen_survives_a_lost_answer(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path,
                                       cycling_keys: None, round_pattern: str, mode: str) -> None:
    share_dir = tmp_path / "shares"
    user, lossy = _lossy_user(wallet_runtime, app_client, share_dir)
    lossy.arm(round_pattern, then_down=mode == "new-process")
    clock = wallet_runtime.clock
    assert isinstance(clock, FrozenClock)

    def later() -> None:
        # A lost opening leaves a key generation the client cannot finish; with a low key pool (one key
        # here) the server gives that user only spare keys for an hour (services/wallets/fairness.py):
        # the retry comes after that.
        if round_pattern == KEYGEN_ROUNDS[0]:
            clock.advance(3601)

    if mode == "same-object":
        wallet = _retry(user.sdk.wallets.create, later)
    else:
        with pytest.raises(httpx.TransportError):
            user.sdk.wallets.create()
        later()
        wallet = _new_process(wallet_runtime, app_client, user, share_dir).wallets.create()
    assert lossy.dropped == 1
    _works(wallet)
    listed = wallet._r.list()
    assert [w.id for w in listed] == [wallet.id]  # completed, not duplicated
    assert not listed[0].locked


@pytest.mark.parametrize("round_pattern", REFRESH_ROUNDS, ids=["open", "contribute", "confirm"])
@pytest.mark.parametrize("mode", [pytest.param("same-object", marks=SAME_OBJECT_ON_SQLITE), "new-process"])
def test_refresh_survives_a_lost_answer(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path,
                                        cycling_keys: None, round_pattern: str, mode: str) -> None:
    share_dir = tmp_path / "shares"
    user, lossy = _lossy_user(wallet_runtime, app_client, share_dir)
    wallet = user.sdk.wallets.create()
    key = wallet.export_private_key()
    lossy.arm(round_pattern, then_down=mode == "new-process")
    if mode == "same-object":
        _retry(wallet.refresh)
    else:
        with pytest.raises(httpx.TransportError):
            wallet.refresh()
        sdk = _new_process(wallet_runtime, app_client, user, share_dir)
        wallet = sdk.wallets.get(wallet.id)
        wallet.refresh()
    assert lossy.dropped == 1
    assert wallet.key_version >= 2
    _works(wallet, key)
    fresh = wallet._r.get(wallet.id)
    assert fresh.key_version == wallet.key_version and not fresh.locked
    _works(fresh, key)
    assert wallet._r.store.pending(user.env.id, user.signed_in.user.id, wallet.id) == []


@pytest.mark.parametrize("round_pattern", RESHARE_ROUNDS, ids=["open", "deal", "confirm"])
@pytest.mark.parametrize("mode", [pytest.param("same-object", marks=SAME_OBJECT_ON_SQLITE), "new-process"])
def test_reshare_survives_a_lost_answer(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path,
                                        cycling_keys: None, receiver: str, developer_pem: str,
                                        round_pattern: str, mode: str) -> None:
    share_dir = tmp_path / "shares"
    settings: dict[str, object] = {"security": {"delegatedAccess": {
        "enabled": True, "webhookUrl": receiver, "publicKeyPem": developer_pem}}}
    user, lossy = _lossy_user(wallet_runtime, app_client, share_dir, settings)
    admin = {"authorization": f"Bearer {user.env.admin_token}"}
    r = app_client.post(f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/secret", headers=admin)
    assert r.status_code == 200, r.text
    r = app_client.post(f"/api/v0/environments/{user.env.id}/waas/delegatedAccess/ringPedersen", headers=admin,
                        json=wallet_keys.delegate_ring().to_json())
    assert r.status_code == 200, r.text
    wallet = user.sdk.wallets.create()
    key = wallet.export_private_key()
    lossy.arm(round_pattern, then_down=mode == "new-process")
    if mode == "same-object":
        _retry(lambda: wallet.reshare(delegate=True))
    else:
        with pytest.raises(httpx.TransportError):
            wallet.reshare(delegate=True)
        sdk = _new_process(wallet_runtime, app_client, user, share_dir)
        wallet = sdk.wallets.get(wallet.id)
        wallet.reshare(delegate=True)
    assert lossy.dropped == 1
    fresh = wallet._r.get(wallet.id)
    assert fresh.threshold_scheme == "TWO_OF_THREE" and fresh.key_version == 2 and not fresh.locked
    _works(fresh, key)
    fresh.reshare(revoke_delegation=True)  # and the ceremony after it still runs
    _works(fresh, key)
