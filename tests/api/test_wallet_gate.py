"""The gate at the door of a signing ceremony: no token, no ceremony, no share touched."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from actionmfa.domain.tokens import Proof
from actionmfa.errors import ActionMFAError, MfaRequiredError, MfaTokenInvalidError
from actionmfa.sdk.tokens import StoredToken
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.store.wallet_tables import waas_ceremonies
from actionmfa.wallet.payloads import message_request
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

# fixtures shared by the wallet API tests
mfa_user = wallet_support.mfa_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def _ceremonies(runtime: Runtime, kind: str = "sign") -> int:
    with runtime.db.read() as uow:
        q = select(func.count()).select_from(waas_ceremonies).where(waas_ceremonies.c.kind == kind)
        return int(uow.conn.execute(q).scalar_one())


def test_sign_without_token_refused_and_leaves_nothing(
    app_client: TestClient, mfa_user: WalletUser, wallet_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = mfa_user.sdk.wallets.create()  # creating a wallet is not gated
    touched: list[str] = []
    original = WalletVault.open_share

    def spy(self: WalletVault, row: Any) -> Any:
        touched.append(row.id)
        return original(self, row)

    monkeypatch.setattr(WalletVault, "open_share", spy)
    r = app_client.post(mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage"), json=message_request("hi").to_json(),
                        headers=mfa_user.signed_in.headers)
    assert r.status_code == 403
    assert r.json() == {"error": "MFA required", "code": "mfa_required"}
    assert _ceremonies(wallet_runtime) == 0
    assert touched == []
    with pytest.raises(MfaRequiredError):
        wallet.sign_message("hi")


def test_sign_with_token_applied_automatically(mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = mfa_user.sdk.wallets.create()
    mfa_user.sdk.tokens.set_mfa_token(mfa_user.mint_mfa_token(wallet_runtime), single_use=True)
    signed = wallet.sign_message("approved")
    assert Account.recover_message(encode_defunct(text="approved"), signature=signed.signature) == wallet.address
    assert mfa_user.sdk.tokens.get_mfa_token() is None  # single use: dropped once spent
    with pytest.raises(MfaRequiredError):
        wallet.sign_message("not approved")


def test_invalid_token_refused(app_client: TestClient, mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = mfa_user.sdk.wallets.create()
    r = app_client.post(mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage"), json=message_request("hi").to_json(),
                        headers={**mfa_user.signed_in.headers, "x-mfa-auth-token": "forged"})
    assert r.status_code == 403 and r.json()["code"] == "mfa_token_invalid"
    assert _ceremonies(wallet_runtime) == 0


def test_single_use_token_opens_exactly_one_of_two_concurrent_ceremonies(
    mfa_user: WalletUser, wallet_runtime: Runtime
) -> None:
    wallet = mfa_user.sdk.wallets.create()
    token = mfa_user.mint_mfa_token(wallet_runtime, single_use=True)
    service = wallet_runtime.services.wallets.signing
    ctx = mfa_user.ctx(wallet_runtime)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(text: str) -> None:
        barrier.wait()
        try:
            service.open_sign(ctx, wallet.id, message_request(text), Proof(mfa_token=token))
            result = "opened"
        except ActionMFAError as err:
            result = err.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["mfa_token_invalid", "opened"]
    assert _ceremonies(wallet_runtime) == 1


def test_elevated_token_of_the_right_scope_opens_signing(
    app_client: TestClient, mfa_user: WalletUser, wallet_runtime: Runtime
) -> None:
    wallet = mfa_user.sdk.wallets.create()
    ctx = mfa_user.ctx(wallet_runtime)
    tokens = wallet_runtime.services.core.tokens
    with wallet_runtime.db.write() as uow:
        export_only = tokens.mint_elevated(uow, ctx, ("wallet:export",), via="test")
        sign_token = tokens.mint_elevated(uow, ctx, ("wallet:sign",), via="test")
    url = mfa_user.env.sdk(f"/waas/{wallet.id}/signMessage")
    wrong = app_client.post(url, json=message_request("x").to_json(),
                            headers={**mfa_user.signed_in.headers, "x-dyn-elevated-access-token": export_only})
    assert wrong.status_code == 403 and wrong.json()["code"] == "mfa_token_invalid"
    # (added directly: the SDK's store checks exp against the real time, the test clock is frozen in 2026-01)
    mfa_user.sdk.tokens.elevated.append(StoredToken(sign_token, single_use=True, scopes=frozenset({"wallet:sign"})))
    signed = wallet.sign_message("elevated")
    assert Account.recover_message(encode_defunct(text="elevated"), signature=signed.signature) == wallet.address


def test_token_bound_to_a_payload_signs_only_that_payload(mfa_user: WalletUser, wallet_runtime: Runtime) -> None:
    """approvalDigest: what the user approved is what gets signed."""
    wallet = mfa_user.sdk.wallets.create()
    ctx = mfa_user.ctx(wallet_runtime)
    approved = message_request("pay Alice 1 ETH")
    with wallet_runtime.db.write() as uow:
        token = wallet_runtime.services.core.tokens.mint_mfa_token(
            uow, ctx, single_use=False, approval_digest=approved.approval_digest(wallet_id=wallet.id), via="test")
    mfa_user.sdk.tokens.set_mfa_token(token, single_use=False)
    with pytest.raises(MfaTokenInvalidError):
        wallet.sign_message("pay Mallory 100 ETH")
    signed = wallet.sign_message("pay Alice 1 ETH")
    assert Account.recover_message(encode_defunct(text="pay Alice 1 ETH"), signature=signed.signature) \
        == wallet.address


def test_token_bound_to_a_payload_on_one_wallet_does_not_sign_it_on_another(
    mfa_user: WalletUser, wallet_runtime: Runtime
) -> None:
    """Red-team finding: the approvalDigest named only the payload, so a token the user approved for
    "pay Alice" on wallet A also signed "pay Alice" on wallet B. The digest now names the wallet."""
    first, second = mfa_user.sdk.wallets.create(), mfa_user.sdk.wallets.create()
    ctx = mfa_user.ctx(wallet_runtime)
    approved = message_request("pay Alice 1 ETH")
    assert approved.approval_digest(wallet_id=first.id) != approved.approval_digest(wallet_id=second.id)
    with wallet_runtime.db.write() as uow:
        token = wallet_runtime.services.core.tokens.mint_mfa_token(
            uow, ctx, single_use=False, approval_digest=approved.approval_digest(wallet_id=first.id), via="test")
    mfa_user.sdk.tokens.set_mfa_token(token, single_use=False)
    with pytest.raises(MfaTokenInvalidError):
        second.sign_message("pay Alice 1 ETH")
    signed = first.sign_message("pay Alice 1 ETH")
    assert Account.recover_message(encode_defunct(text="pay Alice 1 ETH"), signature=signed.signature) \
        == first.address
