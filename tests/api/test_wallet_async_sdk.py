"""The wallet through ``AsyncClient``: returned wallets are awaitable too."""

from __future__ import annotations

import asyncio

from eth_account import Account
from eth_account.messages import encode_defunct

from actionmfa.sdk import AsyncClient
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_async_client_creates_and_signs(open_user: WalletUser) -> None:
    sync = open_user.sdk

    async def run() -> tuple[str, bytes, list[str]]:
        client = AsyncClient(sync.environment_id, http_client=sync._http)
        client.session.jwt = sync.session.jwt
        client.session.user = sync.session.user
        client.sync.wallets.configure(share_dir=sync.wallets.store.directory)
        wallet = await client.wallets.create()
        signed = await wallet.sign_message("hello, async")
        listed = await client.wallets.list()
        return wallet.address, bytes(signed.signature), [w.address for w in listed]

    address, signature, listed = asyncio.run(run())
    assert Account.recover_message(encode_defunct(text="hello, async"), signature=signature) == address
    assert listed == [address]
