"""WaaS refresh: coin-tossed re-randomisation and a new Paillier key; same address, new shares."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from actionmfa.domain.tokens import Proof
from actionmfa.errors import MfaRequiredError, WalletLockedError
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.store.repos.wallets import WalletRepo
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
mfa_user = wallet_support.mfa_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


@pytest.fixture(scope="session")
def second_paillier() -> PreparedPaillier:
    return wallet_keys.server_keys()[1]


@pytest.fixture
def two_keys(wallet_runtime: Runtime, shared_paillier: PreparedPaillier, second_paillier: PreparedPaillier) -> None:
    """The pool hands out the first key, then the second (a refresh needs a *new* Paillier key)."""
    keys = iter([shared_paillier, second_paillier, second_paillier, second_paillier])
    wallet_runtime.services.wallets.keys.use(lambda: next(keys))


def _server_n(runtime: Runtime, env_id: str, wallet_id: str) -> int:
    with runtime.db.read() as uow:
        row = WalletRepo(uow.conn).wallet_by_id(env_id, wallet_id)
    assert row is not None
    return runtime.services.wallets.vault.open_share(row).paillier.n


def test_refresh_keeps_address_changes_shares_and_paillier_key(
    open_user: WalletUser, wallet_runtime: Runtime, two_keys: None
) -> None:
    wallet = open_user.sdk.wallets.create()
    old_share = open_user.sdk.wallets.load_share(wallet.id)
    old_n = _server_n(wallet_runtime, open_user.env.id, wallet.id)
    key_before = wallet.export_private_key()

    wallet.refresh()

    assert wallet.key_version == 2
    new_share = open_user.sdk.wallets.load_share(wallet.id)
    assert old_share is not None and new_share is not None and new_share.x2 != old_share.x2
    assert _server_n(wallet_runtime, open_user.env.id, wallet.id) != old_n
    listed = open_user.sdk.wallets.list()[0]
    assert listed.address == wallet.address and listed.key_version == 2
    signed = listed.sign_message("after refresh")
    assert Account.recover_message(encode_defunct(text="after refresh"), signature=signed.signature) == wallet.address
    assert listed.export_private_key() == key_before  # the key itself never changes


def test_refresh_is_gated(app_client: TestClient, mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = mfa_user.sdk.wallets.create()
    with pytest.raises(MfaRequiredError):
        wallet.refresh()
    with wallet_runtime.db.read() as uow:
        q = select(func.count()).select_from(waas_ceremonies).where(waas_ceremonies.c.kind == "refresh")
        assert uow.conn.execute(q).scalar_one() == 0


def test_pending_share_promoted_when_the_device_missed_the_confirmation(
    open_user: WalletUser, wallet_runtime: Runtime, two_keys: None
) -> None:
    wallet = open_user.sdk.wallets.create()
    old_share = open_user.sdk.wallets.load_share(wallet.id)
    wallet.refresh()
    new_share = open_user.sdk.wallets.load_share(wallet.id)
    assert old_share is not None and new_share is not None
    # As if the device crashed after the server confirmed: current = old (v1), pending = new (v2).
    store, env_id, user_id = open_user.sdk.wallets.store, open_user.env.id, open_user.signed_in.user.id
    store.save(env_id, user_id, wallet.id, old_share, version=1)
    key_ceremony = open_user.sdk.wallets.wallet_data(wallet.id)["keyCeremonyId"]
    store.add_pending(env_id, user_id, wallet.id, new_share, version=2, ceremony_id=key_ceremony, kind="refresh")
    fresh = open_user.sdk.wallets.get(wallet.id)
    signed = fresh.sign_message("recovered")
    assert Account.recover_message(encode_defunct(text="recovered"), signature=signed.signature) == wallet.address
    current = store.load(env_id, user_id, wallet.id)
    assert current is not None and current.x2 == new_share.x2


@pytest.mark.sqlite_suffices  # the lock flag carried through a refresh
def test_refresh_does_not_unlock(open_user: WalletUser, wallet_runtime: Runtime, two_keys: None) -> None:
    wallet = open_user.sdk.wallets.create()
    with wallet_runtime.db.write() as uow:
        WalletRepo(uow.conn).lock(wallet.id, reason="invalid_signature", now=wallet_runtime.clock.now())
    wallet.refresh()
    assert open_user.sdk.wallets.list()[0].locked
    with pytest.raises(WalletLockedError):
        wallet.sign_message("still locked")
    assert isinstance(wallet_runtime.services.wallets.vault, WalletVault)


def test_stale_wallet_object_after_refresh_signs_without_locking(
    open_user: WalletUser, wallet_runtime: Runtime, two_keys: None
) -> None:
    created = open_user.sdk.wallets.create()
    stale = open_user.sdk.wallets.get(created.id)
    stale.sign_message("loads the v1 share")
    open_user.sdk.wallets.get(created.id).refresh()
    signed = stale.sign_message("after someone else refreshed")  # reloads the v2 share
    assert Account.recover_message(encode_defunct(text="after someone else refreshed"),
                                   signature=signed.signature) == created.address
    assert not open_user.sdk.wallets.list()[0].locked


def test_server_refuses_a_round_from_a_stale_share_without_locking(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, two_keys: None
) -> None:
    from actionmfa.wallet import ecdsa2p as p2
    from actionmfa.wallet.payloads import message_request

    wallet = open_user.sdk.wallets.create()
    old_share = open_user.sdk.wallets.load_share(wallet.id)
    assert old_share is not None
    service, ctx = wallet_runtime.services.wallets.signing, open_user.ctx(wallet_runtime)
    request = message_request("race")
    opened = service.open_sign(ctx, wallet.id, request, Proof())
    digest = request.digest()
    sid = p2.sign_session_id(wallet.id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, state = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    revealed = service.sign_nonce(ctx, wallet.id, opened["ceremonyId"], request, nonce.to_json(), key_version=1)
    open_user.sdk.wallets.get(wallet.id).refresh()  # the key moves on between two rounds
    partial = p2.client_sign_finish(old_share, state, p2.SignReveal.from_json(revealed["message"]))
    r = app_client.post(open_user.env.sdk(f"/waas/{wallet.id}/signMessage/{opened['ceremonyId']}/complete"),
                        json={**request.to_json(), "message": partial.to_json(), "keyVersion": 1},
                        headers=open_user.signed_in.headers)
    assert r.status_code == 422 and r.json()["code"] == "ceremony_invalid"
    assert not open_user.sdk.wallets.list()[0].locked
