from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.payloads import (
    PayloadKind,
    SignRequest,
    authorization_request,
    message_request,
    transaction_request,
    typed_data_request,
)

from .helpers import AUTHORIZATION, TX_1559, TYPED_DATA

KEY = "0x" + "42" * 32


def test_digests_match_eth_account() -> None:
    assert message_request("hi").digest() == Account.sign_message(encode_defunct(text="hi"), KEY).message_hash
    td = encode_typed_data(full_message=TYPED_DATA)
    assert typed_data_request(TYPED_DATA).digest() == Account.sign_message(td, KEY).message_hash
    signed = Account.sign_authorization(AUTHORIZATION, KEY)
    assert authorization_request(AUTHORIZATION).digest() == signed.authorization_hash


def test_wire_round_trip_keeps_digest() -> None:
    for request in (
        message_request("hi"),
        message_request(b"\xff\x00"),
        typed_data_request(TYPED_DATA),
        transaction_request(TX_1559),
        authorization_request(AUTHORIZATION),
    ):
        again = SignRequest.from_json(request.to_json())
        assert again.digest() == request.digest()
        assert again.approval_digest(wallet_id="w") == request.approval_digest(wallet_id="w")
        assert request.approval_digest(wallet_id="w") != request.approval_digest(wallet_id="v")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "hash", "payload": "0x" + "00" * 32},
        {"kind": "message", "payload": 5},
        {"kind": "transaction", "payload": {**TX_1559, "data": "0x", "type": 0}},
        {"kind": "transaction", "payload": {k: v for k, v in TX_1559.items() if k not in ("chainId", "data")}},
        {"kind": "transaction", "payload": {**TX_1559, "data": "0x", "r": 1}},
        {"kind": "transaction", "payload": {"type": 2, "chainId": 1}},
        {"kind": "authorization", "payload": {**AUTHORIZATION, "extra": 1}},
        {"kind": "authorization", "payload": {**AUTHORIZATION, "address": "0x12"}},
        {"kind": "typedData", "payload": {"types": {}}},
        {"kind": "message", "payload": "x" * 70_000},
    ],
)
def test_malformed_payloads_refused(body: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError) as err:
        SignRequest.from_json(body)
    assert err.value.code == "invalid_request"


def test_kinds_are_stable_strings() -> None:
    assert [k.value for k in PayloadKind] == ["message", "typedData", "transaction", "authorization"]


def test_approval_digest_names_wallet_and_chain() -> None:
    """Red-team finding: the approvalDigest must bind the wallet (and its chain family), so a token
    approved for a payload on one wallet cannot open it on another."""
    import hashlib
    import json

    from actionmfa.wallet.solana.payloads import message_request as sol_message

    request = message_request("pay Alice")
    expected = hashlib.sha256(json.dumps({"chain": "EVM", "kind": "message", "payload": "pay Alice", "walletId": "w"},
                                         sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert request.approval_digest(wallet_id="w") == expected  # known answer
    sol = sol_message("pay Alice")
    assert sol.approval_digest(wallet_id="w") != sol.approval_digest(wallet_id="v")
    assert sol.approval_digest(wallet_id="w") != request.approval_digest(wallet_id="w")
    with pytest.raises(InvalidRequestError):
        request.approval_digest(wallet_id="")
