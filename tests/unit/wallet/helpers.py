"""Drive a whole signing ceremony in-process, through the JSON encodings of every message."""

from __future__ import annotations

from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.payloads import SignRequest

TYPED_DATA = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person"},
            {"name": "contents", "type": "string"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!",
    },
}

TX_1559 = {
    "type": 2,
    "chainId": 1,
    "nonce": 0,
    "maxFeePerGas": 2_000_000_000,
    "maxPriorityFeePerGas": 1_000_000_000,
    "gas": 21000,
    "to": "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E",
    "value": 10**15,
    "data": b"",
    "accessList": [],
}

AUTHORIZATION = {"chainId": 1, "address": "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E", "nonce": 1}


def run_signing(
    server_share: e.ServerKeyShare,
    client_share: e.ClientKeyShare,
    request: SignRequest,
    *,
    ceremony_id: str = "sign-1",
) -> e.Signature:
    digest = request.digest()
    sid = e.sign_session_id("wallet-1", ceremony_id, digest, key_version=1)
    m1, server_state = e.server_sign_begin(sid, digest)
    m2, client_state = e.client_sign_respond(sid, digest, e.SignCommit.from_json(m1.to_json()))
    server_state = e.ServerSignState.from_json(server_state.to_json())
    m3, server_state = e.server_sign_reveal(server_state, e.SignNonce.from_json(m2.to_json()))
    m4 = e.client_sign_finish(client_share, client_state, e.SignReveal.from_json(m3.to_json()))
    server_state = e.ServerSignState.from_json(server_state.to_json())
    return e.server_sign_complete(server_share, server_state, e.SignPartial.from_json(m4.to_json()))
