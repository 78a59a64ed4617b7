"""The approval prompt shows what is approved, and its token opens only that payload (issue 12).

Debian's chromium shows the hosted prompt ``client.ui.mfa.show(payload=transaction_request(tx), wallet_id=…,
browser=True)`` opens; the page names the app, the recipient and the value; the code typed there
mints a token bound to the transaction's ``approvalDigest``, which the gate refuses for another
transaction and accepts for the approved one.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from eth_account import Account

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig
from actionmfa.crypto import Keyring
from actionmfa.errors import MfaTokenInvalidError
from actionmfa.sdk.client import Client
from actionmfa.sdk.ui import MfaPrompt
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from actionmfa.wallet.payloads import transaction_request
from tests.conftest import make_environment, sign_in
from tests.live_server import LiveServer, chromium_browser, serve

pytestmark = pytest.mark.browser

RECIPIENT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MALLORY = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
TX = {
    "chainId": 11155111,
    "nonce": 0,
    "to": RECIPIENT,
    "value": 1_250_000_000_000_000_000,
    "gas": 21_000,
    "maxFeePerGas": 20_000_000_000,
    "maxPriorityFeePerGas": 1_000_000_000,
}


@pytest.fixture(scope="module")
def paillier() -> PreparedPaillier:
    return PreparedPaillier.generate(2048, safe_primes=False)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def live(
    sqlite_url: str, tmp_path: Path, keyring: Keyring, clock: FrozenClock, paillier: PreparedPaillier
) -> Iterator[LiveServer]:
    runtime = Runtime.build(ServerConfig(data_dir=tmp_path), clock=clock, keyring=keyring, db=Database(sqlite_url))
    runtime.services.wallets.keys.use(lambda: paillier, size=1)
    with serve(runtime) as server:
        yield server
    runtime.close()
    runtime.db.dispose()


def _user_with_wallet(live: LiveServer, clock: FrozenClock, tmp_path: Path) -> tuple[Client, pyotp.TOTP, Any]:
    env = make_environment(
        live.runtime,
        "prod-eu-1",
        settings={
            "general": {"displayName": "Acme Wallet"},
            "security": {"mfa": {"actions": [{"action": "wallet.waas.sign", "required": True}]}},
        },
    )
    who = sign_in(live.runtime, env)
    client = Client(env.id, base_url=live.url, timeout=60)
    client.set_session({"jwt": who.jwt, "expiresAt": int(clock.now().timestamp()) + 3600})
    client.wallets.configure(share_dir=tmp_path / "shares")
    setup = client.mfa.add_device()
    totp = pyotp.TOTP(setup.secret)
    client.mfa.verify_device(totp.at(clock.now()))
    clock.advance(30)
    return client, totp, client.wallets.create()


def test_the_page_shows_recipient_and_value_and_its_token_signs_only_that_transaction(
    live: LiveServer, clock: FrozenClock, tmp_path: Path
) -> None:
    client, totp, wallet = _user_with_wallet(live, clock, tmp_path)
    urls: queue.Queue[str] = queue.Queue()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["token"] = client.ui.mfa.show(
                create_mfa_token=True, browser=True, open_url=urls.put, timeout=30, payload=transaction_request(TX),
                wallet_id=wallet.id,
            )
        except Exception as err:  # reported to the test thread
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        page.goto(urls.get(timeout=20))
        assert page.inner_text("#app-name") == "Acme Wallet"
        assert page.inner_text("#approval-title") == "Acme Wallet: send 1.25 ETH"
        details = page.inner_text("#approval")
        assert RECIPIENT in details and "1.25 ETH" in details and "Sepolia testnet (chain 11155111)" in details
        assert "prod-eu-1" not in page.content()
        page.fill("#totp-code", totp.at(clock.now()))
        page.click("#totp-submit")
        assert page.inner_text("#result") == "Verified"
    thread.join(timeout=20)
    assert "error" not in outcome, outcome.get("error")
    token = outcome["token"]

    with pytest.raises(MfaTokenInvalidError):  # bound to the approved payload: not this one
        wallet.sign_transaction({**TX, "to": MALLORY})
    client.tokens.set_mfa_token(token, single_use=True)
    signed = wallet.sign_transaction(TX)
    assert Account.recover_transaction(signed.raw_transaction) == wallet.address
    client.close()


def test_the_terminal_prompt_names_the_payload_and_binds_the_token(
    live: LiveServer, clock: FrozenClock, tmp_path: Path
) -> None:
    client, totp, wallet = _user_with_wallet(live, clock, tmp_path)
    out = io.StringIO()
    prompt = MfaPrompt(client, prompt=lambda _: totp.at(clock.now()), out=out)
    token = prompt.show(create_mfa_token=True, payload=transaction_request(TX), wallet_id=wallet.id)
    text = out.getvalue()
    assert "Acme Wallet: send 1.25 ETH" in text and RECIPIENT in text and "1.25 ETH" in text
    assert token
    with pytest.raises(MfaTokenInvalidError):
        wallet.sign_transaction({**TX, "value": 10**20})
    client.tokens.set_mfa_token(token, single_use=True)
    assert Account.recover_transaction(wallet.sign_transaction(TX).raw_transaction) == wallet.address
    client.close()


def test_the_wallet_methods_own_prompt_shows_the_payload(live: LiveServer, clock: FrozenClock, tmp_path: Path) -> None:
    client, totp, wallet = _user_with_wallet(live, clock, tmp_path)
    out = io.StringIO()
    client.ui.input, client.ui.out = (lambda _: totp.at(clock.now())), out
    signed = wallet.sign_transaction(TX, prompt="terminal")  # mfa_required → the prompt → retried
    assert Account.recover_transaction(signed.raw_transaction) == wallet.address
    assert RECIPIENT in out.getvalue() and "Verified." in out.getvalue()
    client.close()
