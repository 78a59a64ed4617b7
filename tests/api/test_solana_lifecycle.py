"""Solana wallet lifecycle: export (HPKE, gated), refresh (shares of zero, gated), reshare refused."""

from __future__ import annotations

import base58
import pytest
from fastapi.testclient import TestClient
from nacl.signing import VerifyKey
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from sqlalchemy import func, select

from actionmfa.errors import MfaRequiredError, WalletChainUnsupportedError
from actionmfa.sdk.solana_wallets import SolanaWallet
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.views import ExportNotice
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.solana.export import sign_with_exported_key
from actionmfa.wallet.solana.payloads import message_request
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

mfa_user = wallet_support.mfa_user
open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def _sol(user: WalletUser) -> SolanaWallet:
    wallet = user.sdk.wallets.create(chain="SOL")
    assert isinstance(wallet, SolanaWallet)
    return wallet


def _count(runtime: Runtime, kind: str) -> int:
    with runtime.db.read() as uow:
        q = select(func.count()).select_from(waas_ceremonies).where(waas_ceremonies.c.kind == kind)
        return int(uow.conn.execute(q).scalar_one())


def test_export_recovers_the_same_address(mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = _sol(mfa_user)
    heard: list[ExportNotice] = []
    wallet_runtime.services.wallets.export.hooks.append(heard.append)
    with pytest.raises(MfaRequiredError):
        wallet.export_private_key()
    assert heard == []
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    exported = wallet.export_private_key()
    raw = base58.b58decode(exported)
    assert len(raw) == 64 and str(Pubkey.from_bytes(raw[32:])) == wallet.address
    assert g.base_mult(raw[:32]) == bytes(wallet.pubkey)  # scalar ‖ public key
    assert [n.wallet_id for n in heard] == [wallet.id]
    # The exported key signs plain Ed25519 signatures …
    sig = sign_with_exported_key(exported, b"after export")
    VerifyKey(bytes(wallet.pubkey)).verify(b"after export", sig)
    assert Signature.from_bytes(sig).verify(wallet.pubkey, b"after export")
    # … but it is not a seed-based keypair: solders (like Phantom and solana-keygen) refuses it.
    with pytest.raises(ValueError):
        Keypair.from_bytes(raw)


def test_refresh_keeps_the_address_and_retires_the_old_share(mfa_user: WalletUser, wallet_runtime: Runtime,
                                                              app_client: TestClient) -> None:
    wallet = _sol(mfa_user)
    old_share = wallet._user_share()
    with pytest.raises(MfaRequiredError):
        wallet.refresh()
    assert _count(wallet_runtime, "refresh") == 0
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    wallet.refresh()
    assert wallet.key_version == 2
    (listed,) = mfa_user.sdk.wallets.list()
    assert (listed.address, listed.key_version) == (wallet.address, 2)
    new_share = wallet._user_share()
    assert new_share.secret_share != old_share.secret_share
    assert new_share.group_public_key == old_share.group_public_key
    # The refreshed wallet signs (through a fresh object that loads the stored share) …
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    reloaded = mfa_user.sdk.wallets.get(wallet.id)
    assert isinstance(reloaded, SolanaWallet)
    sig = reloaded.sign_message(b"after refresh")
    assert sig.verify(wallet.pubkey, b"after refresh")
    # … and the share from before the refresh no longer does.
    token = mfa_user.mint_mfa_token(wallet_runtime)
    body = message_request(b"stale").to_json()
    headers = {**mfa_user.signed_in.headers, "x-mfa-auth-token": token}
    opened = app_client.post(mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage"), json=body, headers=headers).json()
    message, _ = fc.client_sign(old_share, b"stale", opened["message"])
    r = app_client.post(mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage/{opened['ceremonyId']}/complete"),
                        json={**body, "message": message}, headers=mfa_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "wallet_signature_invalid"


def test_a_refresh_whose_confirmation_was_lost_resumes(open_user: WalletUser, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server switched but the answer to confirm never arrived: the pending share written before
    # confirming is promoted when the wallet is loaded at the server's new version.
    wallet = _sol(open_user)
    transport = open_user.sdk.wallets.client
    original = transport.request

    def lose_confirm_answer(method: str, path: str, **kw: object) -> object:
        answer = original(method, path, **kw)  # type: ignore[arg-type]
        if path.endswith("/confirm"):
            raise ConnectionError("answer lost")
        return answer

    monkeypatch.setattr(transport, "request", lose_confirm_answer)
    with pytest.raises(ConnectionError):
        wallet.refresh()
    monkeypatch.undo()
    reloaded = open_user.sdk.wallets.get(wallet.id)
    assert reloaded.key_version == 2
    assert isinstance(reloaded, SolanaWallet)
    assert reloaded.sign_message(b"resumed").verify(wallet.pubkey, b"resumed")


def test_reshare_is_a_clear_422(app_client: TestClient, open_user: WalletUser) -> None:
    wallet = _sol(open_user)
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/reshare"), headers=open_user.signed_in.headers,
                        json={"oldThresholdSignatureScheme": "TWO_OF_TWO",
                              "newThresholdSignatureScheme": "TWO_OF_THREE", "delegateToProjectEnvironment": True})
    assert r.status_code == 422
    assert r.json()["code"] == WalletChainUnsupportedError.code == "wallet_chain_unsupported"
    assert "not supported for Solana wallets" in r.json()["error"]
