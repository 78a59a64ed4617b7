"""What the approval prompt says about each payload (issue 12, deliverable 3)."""

from __future__ import annotations

from eth_abi.abi import encode

from actionmfa.wallet.approval import describe, describe_export
from actionmfa.wallet.payloads import (
    authorization_request,
    message_request,
    transaction_request,
    typed_data_request,
)

RECIPIENT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
TOKEN = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
TX = {
    "chainId": 1,
    "nonce": 7,
    "to": RECIPIENT,
    "value": 1_500_000_000_000_000_000,
    "gas": 21_000,
    "maxFeePerGas": 30_000_000_000,
    "maxPriorityFeePerGas": 1_500_000_000,
}
TRANSFER_ABI = [
    {"type": "function", "name": "transfer", "inputs": [{"name": "to", "type": "address"},
                                                        {"name": "amount", "type": "uint256"}]},
]

W = "wallet-1"  # every view here is for one wallet (its digest names it)


def rows(view: object) -> dict[str, str]:
    return dict(view.rows)  # type: ignore[attr-defined]


def test_a_transfer_names_chain_recipient_value_and_fees() -> None:
    view = describe(transaction_request(TX), app="Acme", wallet_id=W)
    r = rows(view)
    assert view.title == "Acme: send 1.5 ETH" and view.action == "wallet.waas.sign"
    assert r["Chain"] == "Ethereum mainnet (chain 1)" and r["To"] == RECIPIENT and r["Value"] == "1.5 ETH"
    assert r["Max fee per gas"] == "30 gwei" and r["Max priority fee"] == "1.5 gwei"
    assert r["Most it can cost in fees"] == "0.00063 ETH" and r["Nonce"] == "7"
    assert view.digest == transaction_request(TX).approval_digest(wallet_id=W) and view.warning is None


def test_a_contract_call_shows_its_selector_and_the_decoded_function_with_an_abi() -> None:
    data = "0xa9059cbb" + encode(["address", "uint256"], [RECIPIENT, 25]).hex()
    call = {**TX, "to": TOKEN, "value": 0, "data": data}
    r = rows(describe(transaction_request(call), abi=TRANSFER_ABI, wallet_id=W))
    assert r["Function selector"] == "0xa9059cbb"
    assert r["Function"] == "transfer(address to, uint256 amount)"
    assert r["  to"] == RECIPIENT and r["  amount"] == "25"
    unknown = {**call, "data": "0x12345678" + "00" * 32}
    view = describe(transaction_request(unknown), wallet_id=W)
    assert rows(view)["Function selector"] == "0x12345678" and "could not be decoded" in (view.warning or "")


def test_an_unlimited_erc20_approval_is_warned_without_an_abi() -> None:
    data = "0x095ea7b3" + encode(["address", "uint256"], [RECIPIENT, 2**256 - 1]).hex()
    view = describe(transaction_request({**TX, "to": TOKEN, "value": 0, "data": data}), wallet_id=W)
    assert rows(view)["Function"].startswith("approve(address spender, uint256 amount)")
    assert "unlimited allowance" in (view.warning or "")


def test_typed_data_shows_the_domain_and_the_primary_types_fields() -> None:
    doc = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}],
        },
        "primaryType": "Mail",
        "domain": {"name": "Ether Mail", "chainId": 11155111, "verifyingContract": TOKEN.lower()},
        "message": {"to": RECIPIENT.lower(), "contents": "Hello, Bob!"},
    }
    view = describe(typed_data_request(doc), wallet_id=W)
    r = rows(view)
    assert view.title == "Sign typed data: Mail"
    assert r["Domain"] == "Ether Mail" and r["Chain"] == "Sepolia testnet (chain 11155111)"
    assert r["Verifying contract"] == TOKEN and r["Type"] == "Mail"
    assert r["to"] == RECIPIENT and r["contents"] == "Hello, Bob!"


def test_messages_show_text_or_hex() -> None:
    assert rows(describe(message_request("Sign in to Acme"), wallet_id=W))["Message"] == "Sign in to Acme"
    assert rows(describe(message_request("héllo".encode()), wallet_id=W))["Message"] == "héllo"
    r = rows(describe(message_request(b"\x00\xff\x10"), wallet_id=W))
    assert r["Message (hex)"] == "0x00ff10" and r["Length"] == "3 bytes"


def test_eip7702_names_the_delegate_and_the_chain() -> None:
    view = describe(authorization_request({"chainId": 8453, "address": TOKEN, "nonce": 0}), wallet_id=W)
    r = rows(view)
    assert r["Delegate contract"] == TOKEN and r["Chain"] == "Base (chain 8453)"
    assert "act" in view.title.lower() or "Delegate" in view.title
    assert "move its funds" in (view.warning or "")
    every = describe(authorization_request({"chainId": 0, "address": TOKEN, "nonce": 0}), wallet_id=W)
    assert "every chain" in (every.warning or "")
    set_code = {**TX, "type": 4, "authorizationList": [
        {"chainId": 1, "address": TOKEN, "nonce": 8, "yParity": 0, "r": 1, "s": 1}]}
    r = rows(describe(transaction_request(set_code), wallet_id=W))
    assert r["Delegation 1: delegate contract"] == TOKEN and r["Delegation 1: chain"] == "Ethereum mainnet (chain 1)"


def test_export_is_a_clear_warning() -> None:
    view = describe_export(app="Acme")
    assert view.action == "wallet.waas.export" and view.digest is None
    assert "controls the wallet" in (view.warning or "")


def test_a_solana_transfer_names_payer_recipient_and_sol() -> None:
    from solders.hash import Hash
    from solders.message import Message
    from solders.pubkey import Pubkey
    from solders.system_program import TransferParams, transfer

    from actionmfa.wallet.approval_solana import describe_solana
    from actionmfa.wallet.solana.payloads import message_request as sol_message
    from actionmfa.wallet.solana.payloads import transaction_request as sol_transaction

    payer, to = Pubkey.new_unique(), Pubkey.new_unique()
    message = Message.new_with_blockhash(
        [transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=1_500_000_000))], payer, Hash.default()
    )
    request = sol_transaction(message)
    view = describe_solana(request, app="Acme", wallet_id=W)
    r = rows(view)
    assert view.title == "Acme: send 1.5 SOL" and view.digest == request.approval_digest(wallet_id=W)
    assert r["Chain"] == "Solana" and r["Fee payer"] == str(payer) and r["Transfer 1: to"] == str(to)
    assert r["Transfer 1: amount"] == "1.5 SOL (1,500,000,000 lamports)" and r["Programs"] == "System Program"
    assert rows(describe_solana(sol_message("gm"), wallet_id=W))["Message"] == "gm"
