"""Private-key export: HPKE-sealed server share, context-bound, gated by ``wallet.waas.export``."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import select

from actionmfa.errors import MfaRequiredError, WalletExportInvalidError, WalletProofInvalidError
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.views import ExportNotice
from actionmfa.store.mfa_tables import audit_log
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from actionmfa.wallet.export import (
    ExportEnvelope,
    export_info,
    generate_recipient_key,
    open_share,
    recipient_public_key_b64,
)
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

# fixtures shared by the wallet API tests
mfa_user = wallet_support.mfa_user
open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_export_round_trip_recovers_address(mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    notices: list[ExportNotice] = []
    wallet_runtime.services.wallets.export.hooks.append(notices.append)
    wallet = mfa_user.sdk.wallets.create()
    with pytest.raises(MfaRequiredError):
        wallet.export_private_key()
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    key_hex = wallet.export_private_key()
    assert len(key_hex) == 64 and not key_hex.startswith("0x")
    assert Account.from_key(bytes.fromhex(key_hex)).address == wallet.address
    assert [n.wallet_id for n in notices] == [wallet.id]
    with wallet_runtime.db.read() as uow:
        events = [r.event for r in uow.conn.execute(select(audit_log.c.event)).all()]
    assert "wallet.exported" in events

    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    keystore = wallet.export_private_key(password="pw")
    assert Account.decrypt(keystore, "pw").hex() == key_hex


def test_ciphertext_replayed_under_another_requests_info_refused(
    app_client: TestClient, open_user: WalletUser
) -> None:
    wallet = open_user.sdk.wallets.create()
    recipient = generate_recipient_key()
    body = {"recipientPublicKey": recipient_public_key_b64(recipient), "encryptionType": "HPKE"}
    url = open_user.env.sdk(f"/waas/{wallet.id}/privateKey/export")
    first = app_client.post(url, json=body, headers={**open_user.signed_in.headers, "x-dyn-request-id": "req-1"})
    second = app_client.post(url, json=body, headers={**open_user.signed_in.headers, "x-dyn-request-id": "req-2"})
    assert first.status_code == 200 and second.status_code == 200
    one, two = first.json(), second.json()
    info_one = export_info(wallet.id, "req-1", one["tokenId"])
    info_two = export_info(wallet.id, "req-2", two["tokenId"])
    assert open_share(ExportEnvelope.from_json(one), recipient, info_one) > 0
    with pytest.raises(WalletExportInvalidError):
        open_share(ExportEnvelope.from_json(one), recipient, info_two)


def test_export_rejects_bad_recipient_key(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = open_user.sdk.wallets.create()
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/privateKey/export"),
                        json={"recipientPublicKey": "AAAA"}, headers=open_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_client_refuses_modulus_with_invalid_proof(
    open_user: WalletUser, wallet_runtime: Runtime, shared_paillier: PreparedPaillier
) -> None:
    other = wallet_keys.server_keys()[1]
    cheating = dataclasses.replace(shared_paillier, mod_proof=other.mod_proof)  # Πmod of another N
    wallet_runtime.services.wallets.keys.use(lambda: cheating)  # a pool already built (honest keys) is dropped
    with pytest.raises(WalletProofInvalidError):
        open_user.sdk.wallets.create()
