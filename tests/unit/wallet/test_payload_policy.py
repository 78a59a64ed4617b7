"""Payload policy (issue 9.8): chain ids 1 … 2**64-1 (EIP-2294), EIP-7702 chainId 0 only when allowed,
legacy EIP-155 (type 0) and EIP-2930 (type 1) transactions.

Every signed result is cross-checked with eth-account: the digest is signed with the same key by
coincurve (RFC 6979, low s — what eth-keys does too), assembled by :func:`assemble`, and must equal
``Account.sign_transaction`` byte for byte and recover to the key's address.
"""

from __future__ import annotations

from typing import Any

import coincurve
import pytest
from eth_account import Account

from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.ecdsa2p import Signature
from actionmfa.wallet.payloads import (
    MAX_CHAIN_ID,
    SignRequest,
    assemble,
    authorization_request,
    check_policy,
    transaction_request,
)

from .helpers import AUTHORIZATION, TX_1559

KEY = bytes.fromhex("42" * 32)
ADDRESS = Account.from_key(KEY).address
TO = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
LEGACY = {"type": 0, "chainId": 1, "nonce": 7, "gasPrice": 3_000_000_000, "gas": 21000, "to": TO,
          "value": 10**15, "data": "0x"}
ACCESS_LIST = {"type": 1, "chainId": 1, "nonce": 7, "gasPrice": 3_000_000_000, "gas": 30000, "to": TO,
               "value": 1, "data": "0xdeadbeef",
               "accessList": [{"address": TO, "storageKeys": ["0x" + "00" * 31 + "01"]}]}


def _sign(request: SignRequest) -> Any:
    raw = coincurve.PrivateKey(KEY).sign_recoverable(request.digest(), hasher=None)
    return assemble(request, Signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]))


@pytest.mark.parametrize("tx", [LEGACY, ACCESS_LIST, {**LEGACY, "chainId": MAX_CHAIN_ID},
                                {**ACCESS_LIST, "chainId": MAX_CHAIN_ID}, {**LEGACY, "to": None, "data": "0x6000"},
                                {**LEGACY, "type": "0x0"}, {**ACCESS_LIST, "type": "0x1"}],
                         ids=["legacy", "eip2930", "legacy-max-chain", "eip2930-max-chain", "legacy-create",
                              "legacy-hex-type", "eip2930-hex-type"])
def test_legacy_and_access_list_transactions_match_eth_account(tx: dict[str, Any]) -> None:
    ours = _sign(transaction_request(tx))
    theirs_tx = {k: v for k, v in tx.items() if not (k == "to" and v is None)}
    theirs_tx["type"] = int(str(tx["type"]), 16) if isinstance(tx["type"], str) else tx["type"]
    if theirs_tx["type"] == 0:
        theirs_tx.pop("type")  # eth-account's legacy form has no type field
    theirs = Account.sign_transaction(theirs_tx, KEY)
    assert bytes(ours.raw_transaction) == bytes(theirs.raw_transaction)
    assert ours.hash == theirs.hash and ours.v == theirs.v
    assert Account.recover_transaction(ours.raw_transaction) == ADDRESS


def test_legacy_v_is_eip155() -> None:
    signed = _sign(transaction_request({**LEGACY, "chainId": 137}))
    assert signed.v in (137 * 2 + 35, 137 * 2 + 36)  # never 27/28: not valid on every chain


@pytest.mark.parametrize("tx", [TX_1559, LEGACY, ACCESS_LIST], ids=["eip1559", "legacy", "eip2930"])
@pytest.mark.parametrize("chain_id", [0, MAX_CHAIN_ID + 1, -1, True, "1"])
def test_transaction_chain_ids_outside_1_to_2_64_are_refused(tx: dict[str, Any], chain_id: object) -> None:
    with pytest.raises(InvalidRequestError) as err:
        SignRequest.from_json({"kind": "transaction", "payload": {**tx, "data": "0x", "chainId": chain_id}})
    assert err.value.code == "invalid_request" and err.value.field == "chainId"


def test_eip1559_at_the_largest_chain_id_matches_eth_account() -> None:
    tx = {**TX_1559, "chainId": MAX_CHAIN_ID}
    assert Account.recover_transaction(_sign(transaction_request(tx)).raw_transaction) == ADDRESS


@pytest.mark.parametrize("chain_id", [MAX_CHAIN_ID + 1, -1])
def test_authorization_chain_ids_beyond_64_bits_are_refused(chain_id: int) -> None:
    with pytest.raises(InvalidRequestError) as err:
        SignRequest.from_json({"kind": "authorization", "payload": {**AUTHORIZATION, "chainId": chain_id}})
    assert err.value.field == "chainId"


def test_authorization_for_chain_id_zero_needs_the_environment_setting() -> None:
    request = authorization_request({**AUTHORIZATION, "chainId": 0})
    with pytest.raises(InvalidRequestError) as err:
        check_policy(request)
    assert err.value.code == "invalid_request" and err.value.field == "chainId"
    check_policy(request, allow_chain_id_zero_authorizations=True)
    signed = _sign(request)
    theirs = Account.sign_authorization({**AUTHORIZATION, "chainId": 0}, KEY)
    assert signed.authorization_hash == theirs.authorization_hash
    assert (signed.r, signed.s, signed.y_parity) == (theirs.r, theirs.s, theirs.y_parity)


def test_authorization_for_a_chain_passes_the_policy() -> None:
    check_policy(authorization_request({**AUTHORIZATION, "chainId": MAX_CHAIN_ID}))


@pytest.mark.parametrize("payload", [{**LEGACY, "maxFeePerGas": 1}, {**LEGACY, "gasPrice": -1},
                                     {**LEGACY, "to": "0x12"}, {**LEGACY, "data": "zz"}, {**LEGACY, "type": 3},
                                     {**LEGACY, "nonce": 2**64}])
def test_malformed_legacy_transactions_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        SignRequest.from_json({"kind": "transaction", "payload": payload})
