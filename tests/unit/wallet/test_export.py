from __future__ import annotations

import pytest
from eth_account import Account

from actionmfa.errors import WalletExportInvalidError
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.curve import address_of
from actionmfa.wallet.export import (
    ExportEnvelope,
    combine_shares,
    export_info,
    generate_recipient_key,
    keystore_v3,
    open_share,
    parse_recipient_key,
    recipient_public_key_b64,
    seal_share,
)


def test_export_round_trip_recovers_address(wallet_shares: tuple[e.ServerKeyShare, e.ClientKeyShare]) -> None:
    server, client = wallet_shares
    address = address_of(client.public_key)
    recipient = generate_recipient_key()
    info = export_info("wallet-1", "req-1", "token-1")
    envelope = seal_share(server.x1, parse_recipient_key(recipient_public_key_b64(recipient)), info)
    x1 = open_share(ExportEnvelope.from_json(envelope.to_json()), recipient, info)
    key_hex = combine_shares(x1, client.x2, address)
    assert len(key_hex) == 64 and not key_hex.startswith("0x")
    assert Account.from_key(bytes.fromhex(key_hex)).address == address
    keystore = keystore_v3(key_hex, "correct horse")
    assert keystore["version"] == 3
    assert Account.decrypt(keystore, "correct horse").hex() == key_hex


def test_ciphertext_replayed_under_other_info_refused() -> None:
    recipient = generate_recipient_key()
    envelope = seal_share(12345, recipient.public_key(), export_info("wallet-1", "req-1", "token-1"))
    for info in (
        export_info("wallet-1", "req-2", "token-1"),
        export_info("wallet-2", "req-1", "token-1"),
        export_info("wallet-1", "req-1", "token-2"),
    ):
        with pytest.raises(WalletExportInvalidError) as err:
            open_share(envelope, recipient, info)
        assert err.value.code == "wallet_export_invalid"


def test_other_recipient_refused() -> None:
    info = export_info("w", "r", "t")
    envelope = seal_share(7, generate_recipient_key().public_key(), info)
    with pytest.raises(WalletExportInvalidError):
        open_share(envelope, generate_recipient_key(), info)


def test_wrong_share_fails_address_check(wallet_shares: tuple[e.ServerKeyShare, e.ClientKeyShare]) -> None:
    server, client = wallet_shares
    with pytest.raises(WalletExportInvalidError):
        combine_shares(server.x1 + 1, client.x2, address_of(client.public_key))
