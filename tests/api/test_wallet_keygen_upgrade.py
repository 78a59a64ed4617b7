"""Key generation's loose ends (review findings): a ceremony opened by the previous server version and
finished by this one (its sealed state in the old format) is a clear 422, not a 500; a creation the SDK
refuses leaves no orphan wallet."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from actionmfa.domain.wallets import CeremonyKind
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from actionmfa.wallet import ecdsa2p as p2
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def _old_format(state: dict[str, object], case: str) -> dict[str, object]:
    old = dict(state)
    if case == "no-wallet-id":  # before issue 9.5 the wallet id was chosen at the end
        old.pop("walletId")
    else:  # before issue 9.1 the state held the bare Paillier key, no proofs
        prepared = old.pop("prepared")
        assert isinstance(prepared, dict)
        old["paillier"] = prepared["paillier"]
    return old


@pytest.mark.parametrize("case", ["no-wallet-id", "bare-paillier-key"])
def test_a_keygen_opened_before_the_deploy_is_refused_cleanly(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime, case: str
) -> None:
    headers = open_user.signed_in.headers
    opened = app_client.post(open_user.env.sdk("/waas/create"), json={"chain": "EVM"}, headers=headers).json()
    ceremony_id, vault = opened["ceremonyId"], wallet_runtime.services.wallets.vault
    with wallet_runtime.db.write() as uow:
        row = uow.wallets.ceremony(ceremony_id, environment_id=open_user.env.id,
                                   session_id=open_user.signed_in.session_id, kind=CeremonyKind.KEYGEN)
        assert row is not None
        uow.wallets.set_sealed_state(ceremony_id, vault.seal_state(ceremony_id, _old_format(vault.open_state(row),
                                                                                            case)))
    sid = p2.keygen_session_id(ceremony_id, open_user.env.id, open_user.signed_in.user.id,
                               wallet_id=opened["walletId"])
    message, _ = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(opened["message"]), wallet_keys.client_ring())
    answer = app_client.post(open_user.env.sdk(f"/waas/create/{ceremony_id}"), json={"message": message.to_json()},
                             headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "ceremony_invalid", answer.text
    assert "start again" in answer.json()["error"]
    listed = app_client.get(open_user.env.sdk("/waas/wallets"), headers=headers).json()
    assert listed["wallets"] == []  # nothing half-made



def test_a_creation_the_sdk_refuses_leaves_no_orphan_wallet(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime
) -> None:
    """Review finding: the final round stores the wallet before the SDK checks the server's proofs;
    an SDK that refused them (here: the key is below its min_modulus_bits) held no share, yet the
    wallet stayed listed and counted — forever unusable. The SDK now withdraws it, proving it holds
    this creation's share; nobody else can."""
    from actionmfa.errors import WalletProofInvalidError

    open_user.sdk.wallets.configure(min_modulus_bits=3072)  # the pooled test keys are 2048-bit
    with pytest.raises(WalletProofInvalidError):
        open_user.sdk.wallets.create()
    headers = open_user.signed_in.headers
    assert app_client.get(open_user.env.sdk("/waas/wallets"), headers=headers).json()["wallets"] == []
    with wallet_runtime.db.read() as uow:
        events = [r.event for r in uow.conn.execute(
            select(audit_log.c.event).where(audit_log.c.environment_id == open_user.env.id))]
    assert "wallet.created" in events and "wallet.creation_abandoned" in events


def test_only_the_creating_device_can_abandon_a_fresh_unused_wallet(
    app_client: TestClient, open_user: WalletUser, wallet_runtime: Runtime
) -> None:
    headers = open_user.signed_in.headers
    opened = app_client.post(open_user.env.sdk("/waas/create"), json={"chain": "EVM"}, headers=headers).json()
    ceremony_id, wallet_id = opened["ceremonyId"], opened["walletId"]
    sid = p2.keygen_session_id(ceremony_id, open_user.env.id, open_user.signed_in.user.id, wallet_id=wallet_id)
    message, state = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(opened["message"]),
                                              wallet_keys.client_ring())
    done = app_client.post(open_user.env.sdk(f"/waas/create/{ceremony_id}"), json={"message": message.to_json()},
                           headers=headers)
    assert done.status_code == 200, done.text
    url = open_user.env.sdk(f"/waas/create/{ceremony_id}/abandon")
    # a proof of another share (a session holder without the device's x2) is refused
    _, stranger = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(opened["message"]), wallet_keys.client_ring())
    forged = p2.client_keygen_abandon(stranger, wallet_id, ceremony_id)
    r = app_client.post(url, json={"message": forged.to_json()}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "wallet_proof_invalid", r.text
    # a proof for another ceremony's context is refused too
    other = p2.client_keygen_abandon(state, wallet_id, "another-ceremony")
    assert app_client.post(url, json={"message": other.to_json()}, headers=headers).status_code == 422
    # once the wallet was used, it is no longer abandoned
    with wallet_runtime.db.write() as uow:
        uow.wallets.replace_share(wallet_id, server_share=uow.wallets.wallet_by_id(open_user.env.id, wallet_id)
                                  .server_share, key_version=2, now=wallet_runtime.clock.now())  # type: ignore[union-attr]
    good = p2.client_keygen_abandon(state, wallet_id, ceremony_id)
    r = app_client.post(url, json={"message": good.to_json()}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "ceremony_invalid", r.text
    with wallet_runtime.db.write() as uow:
        row = uow.wallets.wallet_by_id(open_user.env.id, wallet_id)
        assert row is not None
        uow.wallets.replace_share(wallet_id, server_share=row.server_share, key_version=1,
                                  now=wallet_runtime.clock.now(), key_ceremony_id=ceremony_id)
    r = app_client.post(url, json={"message": good.to_json()}, headers=headers)
    assert r.status_code == 200 and r.json() == {"walletId": wallet_id, "abandoned": True}, r.text
    assert app_client.get(open_user.env.sdk("/waas/wallets"), headers=headers).json()["wallets"] == []
    assert app_client.post(url, json={"message": good.to_json()}, headers=headers).status_code == 422  # once
