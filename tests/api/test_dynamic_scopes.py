"""Dynamic's ``wallet:delegate`` elevated scope: what its SDK mints for refresh and reshare.

A ``wallet:delegate`` token opens refresh and reshare (beside ActionMFA's finer ``wallet:refresh`` /
``wallet:reshare``) and nothing else: not a signature, not an export, not a credential change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.domain.actions import MFAAction
from actionmfa.domain.tokens import GateVia, Proof
from actionmfa.errors import MfaTokenInvalidError
from actionmfa.services.runtime import Runtime
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser
from tests.conftest import sign_in

mfa_user = wallet_support.mfa_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def delegate_token(user: WalletUser, runtime: Runtime) -> str:
    ctx = user.ctx(runtime)
    with runtime.db.write() as uow:
        return runtime.services.core.tokens.mint_elevated(uow, ctx, ("wallet:delegate",), via="test")


@pytest.mark.parametrize("action", [MFAAction.WALLET_WAAS_REFRESH, MFAAction.WALLET_WAAS_RESHARE])
def test_the_gate_lets_wallet_delegate_through_refresh_and_reshare(
    mfa_user: WalletUser, wallet_runtime: Runtime, action: MFAAction
) -> None:
    token = delegate_token(mfa_user, wallet_runtime)
    with wallet_runtime.db.write() as uow:
        decision = wallet_runtime.services.core.gate.enforce(uow, mfa_user.ctx(wallet_runtime), action,
                                                             Proof(elevated_token=token))
    assert decision.allowed and decision.via is GateVia.ELEVATED_TOKEN and decision.spent  # single-use by default


@pytest.mark.parametrize("action", [MFAAction.WALLET_WAAS_SIGN, MFAAction.WALLET_WAAS_EXPORT])
def test_wallet_delegate_opens_no_signature_and_no_export(
    mfa_user: WalletUser, wallet_runtime: Runtime, action: MFAAction
) -> None:
    token = delegate_token(mfa_user, wallet_runtime)
    with pytest.raises(MfaTokenInvalidError), wallet_runtime.db.write() as uow:
        ctx = mfa_user.ctx(wallet_runtime)
        wallet_runtime.services.core.gate.enforce(uow, ctx, action, Proof(elevated_token=token))


@pytest.mark.parametrize("target", [MFAAction.USER_UPDATE, "credential:unlink"])
def test_wallet_delegate_is_no_proof_for_other_scopes(mfa_user: WalletUser, wallet_runtime: Runtime,
                                                      target: MFAAction | str) -> None:
    token = delegate_token(mfa_user, wallet_runtime)
    with wallet_runtime.db.write() as uow:  # not required for this user: allowed, and the token is not what let it
        decision = wallet_runtime.services.core.gate.enforce(uow, mfa_user.ctx(wallet_runtime), target,
                                                             Proof(elevated_token=token))
    assert decision.via is GateVia.NOT_REQUIRED and not decision.spent


def test_sdk_refresh_carries_a_stored_wallet_delegate_token(
    mfa_user: WalletUser, wallet_runtime: Runtime, clock: FrozenClock
) -> None:
    clock.set(datetime.now(UTC))  # the SDK drops stored tokens that expired by the wall clock
    # A refresh needs a *new* Paillier key (N' != N): the pool hands out the shared key, then another.
    keys = iter(wallet_keys.server_keys()[:2])
    wallet_runtime.services.wallets.keys.use(lambda: next(keys, wallet_keys.server_keys()[1]))
    user = WalletUser(mfa_user.env, sign_in(wallet_runtime, mfa_user.env, mfa_user.signed_in.user.email), mfa_user.sdk)
    user.sdk.session.jwt = user.signed_in.jwt
    wallet = user.sdk.wallets.create()
    user.sdk.tokens.add_elevated(delegate_token(user, wallet_runtime))
    wallet.refresh()  # wallet.waas.refresh is required here: the delegate token is what lets it through
    assert wallet.key_version == 2


def test_step_up_check_knows_wallet_delegate(app_client: TestClient, mfa_user: WalletUser) -> None:
    r = app_client.post(mfa_user.env.sdk("/stepUp/check"), json={"scope": "wallet:delegate"},
                        headers=mfa_user.signed_in.headers)
    assert r.status_code == 200, r.text
    assert r.json()["isRequired"] is True
