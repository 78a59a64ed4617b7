"""Payload policy through the real app (issue 9.8): legacy and EIP-2930 transactions signed by the two
parties and recovered by eth-account; an EIP-7702 authorization for chainId 0 refused unless the
environment allows it; chain ids outside 1 … 2**64-1 refused before any ceremony opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from actionmfa.errors import InvalidRequestError
from actionmfa.services.runtime import Runtime
from actionmfa.wallet.payloads import MAX_CHAIN_ID
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser, make_wallet_user

pytestmark = pytest.mark.sqlite_suffices  # payload encoding rules: nothing here depends on the database

shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client
open_user = wallet_support.open_user

TO = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
LEGACY = {"type": 0, "chainId": 1, "nonce": 0, "gasPrice": 10**9, "gas": 21000, "to": TO, "value": 1, "data": "0x"}
ACCESS_LIST = {**LEGACY, "type": 1, "accessList": [{"address": TO, "storageKeys": []}]}
AUTHORIZATION = {"chainId": 0, "address": TO, "nonce": 3}


@pytest.mark.parametrize("tx", [LEGACY, ACCESS_LIST, {**LEGACY, "chainId": MAX_CHAIN_ID}],
                         ids=["legacy-eip155", "eip2930", "legacy-max-chain"])
def test_legacy_and_access_list_transactions_are_signed(open_user: WalletUser, tx: dict[str, object]) -> None:
    wallet = open_user.sdk.wallets.create()
    signed = wallet.sign_transaction(tx)
    assert Account.recover_transaction(signed.raw_transaction) == wallet.address
    raw = bytes(signed.raw_transaction)
    assert raw[0] == 0x01 if tx["type"] == 1 else raw[0] >= 0xC0  # typed envelope / bare RLP list


@pytest.mark.parametrize("chain_id", [0, MAX_CHAIN_ID + 1])
def test_transaction_chain_ids_out_of_range_are_refused(open_user: WalletUser, chain_id: int) -> None:
    wallet = open_user.sdk.wallets.create()
    with pytest.raises(InvalidRequestError) as err:
        wallet.sign_transaction({**LEGACY, "chainId": chain_id})
    assert err.value.code == "invalid_request"


def test_chain_id_zero_authorization_is_refused_by_default(open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create()
    with pytest.raises(InvalidRequestError) as err:
        wallet.sign_authorization(AUTHORIZATION)
    assert err.value.code == "invalid_request" and err.value.field == "chainId"
    signed = wallet.sign_authorization({**AUTHORIZATION, "chainId": 1})  # a chain of its own is fine
    assert signed.authority == bytes.fromhex(wallet.address[2:])  # the recovered signer


def test_chain_id_zero_authorization_when_the_environment_allows_it(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path
) -> None:
    settings: dict[str, object] = {"security": {"embeddedWallets": {"allowChainIdZeroAuthorizations": True}}}
    user = make_wallet_user(wallet_runtime, app_client, tmp_path / "shares", settings)
    wallet = user.sdk.wallets.create()
    signed = wallet.sign_authorization(AUTHORIZATION)
    theirs = Account.sign_authorization(AUTHORIZATION, "0x" + wallet.export_private_key())
    assert signed.authorization_hash == theirs.authorization_hash and signed.chain_id == 0
    assert signed.authority == theirs.authority == bytes.fromhex(wallet.address[2:])
