"""Red-team finding on the wallet ceremonies (failed before its fix)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from actionmfa.services.runtime import Runtime
from actionmfa.wallet import ecdsa2p as p2
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

# fixtures shared by the wallet API tests
open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_an_unknown_keygen_ceremony_is_refused_before_the_rings_proof_is_checked(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any session holder could make the server verify a 128-round Πprm (and a 1.5 Mbit gcd) per
    request for fresh ring parameters against a made-up ceremony id: a cheap CPU exhaustion."""
    headers = open_user.signed_in.headers
    opened = app_client.post(open_user.env.sdk("/waas/create"), json={"chain": "EVM"}, headers=headers).json()
    message, _ = p2.client_keygen_respond(b"\x00" * 32, p2.KeygenCommit.from_json(opened["message"]),
                                          wallet_keys.client_ring())
    checked: list[object] = []
    monkeypatch.setattr(wallet_runtime.services.wallets.keys, "check_ring", checked.append)
    answer = app_client.post(open_user.env.sdk(f"/waas/create/{uuid.uuid4()}"),
                             json={"message": message.to_json()}, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "ceremony_invalid"
    assert checked == []


def test_an_unknown_refresh_ceremony_is_refused_before_the_rings_proof_is_checked(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actionmfa.wallet.refresh import RefreshCommit, client_refresh_respond

    wallet = open_user.sdk.wallets.create()
    headers = open_user.signed_in.headers
    opened = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/refresh"), json={}, headers=headers).json()
    contribution, _ = client_refresh_respond(b"\x00" * 32, RefreshCommit.from_json(opened["message"]),
                                             wallet_keys.client_ring())
    checked: list[object] = []
    monkeypatch.setattr(wallet_runtime.services.wallets.keys, "check_ring", checked.append)
    answer = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/refresh/{uuid.uuid4()}"),
                             json={"message": contribution.to_json()}, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "ceremony_invalid"
    assert checked == []


def test_an_unknown_reshare_ceremony_is_refused_before_the_rings_proof_is_checked(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reshare dealing carries the client's ring too: the same CPU-exhaustion path as keygen."""
    from types import SimpleNamespace

    from actionmfa.wallet import reshare as rs

    wallet = open_user.sdk.wallets.create()
    dealing = SimpleNamespace(sealed_delegate_share=None, ring=wallet_keys.client_ring())
    monkeypatch.setattr(rs.ReshareDealing, "from_json", classmethod(lambda cls, message: dealing))
    checked: list[object] = []
    monkeypatch.setattr(wallet_runtime.services.wallets.keys, "check_ring", checked.append)
    answer = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/reshare/{uuid.uuid4()}"),
                             json={"message": {}}, headers=open_user.signed_in.headers)
    assert answer.status_code == 422 and answer.json()["code"] == "ceremony_invalid", answer.text
    assert checked == []
