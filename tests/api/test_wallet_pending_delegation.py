"""Delegation approved or revoked by the operator, completed at the user's next sign-in (issue 13.2).

Runs on SQLite and PostgreSQL against the real app: the operator's admin route marks the wallets, the
user's SDK sees ``wallet.pending_action`` in ``wallets.list()``, and ``complete_pending()`` runs the
gated reshare — prompting (here: a callback that passes the MFA step) when the gate wants a token.
The delegation webhook's share signs with the server's; after a revocation of every wallet of the
environment, the old delegate shares no longer combine with the server's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from actionmfa.errors import (
    CeremonyInvalidError,
    DelegatedAccessDisabledError,
    MfaRequiredError,
    UnauthorizedError,
    WalletProofInvalidError,
    WalletReshareConflictError,
)
from actionmfa.sdk.client import Client
from actionmfa.sdk.delegated import DelegatedSigner
from actionmfa.sdk.wallets import Wallet
from actionmfa.services.runtime import Runtime
from actionmfa.wallet import delegation as dg
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.api import test_wallet_reshare as reshare_support
from tests.api.test_wallet_reshare import Delegating, Webhook, _at, _delegating_user, _pair_sign, _server_shamir
from tests.conftest import sign_in

shared_paillier = reshare_support.shared_paillier
wallet_runtime = reshare_support.wallet_runtime
app_client = reshare_support.app_client
webhook = reshare_support.webhook
developer_key = reshare_support.developer_key
more_paillier = reshare_support.more_paillier
distinct_keys = reshare_support.distinct_keys


def _admin(app: TestClient, d: Delegating, path: str, body: dict[str, object]) -> dict[str, object]:
    r = app.post(f"/api/v0/environments/{d.user.env.id}/waas/delegation/{path}", json=body,
                 headers={"authorization": f"Bearer {d.user.env.admin_token}"})
    assert r.status_code == 200, r.text
    result: dict[str, object] = r.json()
    return result


@pytest.fixture
def gated(wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
          developer_key: rsa.RSAPrivateKey, distinct_keys: None) -> Delegating:
    """A user of an environment with delegated access on, where a reshare needs MFA."""
    return _delegating_user(wallet_runtime, app_client, tmp_path, webhook, developer_key, gated=True)


def test_operator_approval_completed_at_next_sign_in_with_an_mfa_prompt(
    gated: Delegating, wallet_runtime: Runtime, app_client: TestClient, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, more_paillier: list[PreparedPaillier]
) -> None:
    user = gated.user
    wallet = user.sdk.wallets.create()
    result = _admin(app_client, gated, "approve", {"userId": user.signed_in.user.id})
    assert result["walletIds"] == [wallet.id] and result["pendingAction"] == "approve_delegation"

    [listed] = user.sdk.wallets.list()  # what the next sign-in sees
    assert isinstance(listed, Wallet) and listed.pending_action == "approve_delegation"
    prompted: list[bool] = []

    def prompt() -> None:  # stands in for client.ui.mfa.show(): the user passes MFA, a token is stored
        prompted.append(True)
        user.sdk.tokens.set_mfa_token(user.mint_mfa_token(wallet_runtime), single_use=True)

    [changed] = user.sdk.wallets.complete_pending(prompt=prompt)

    assert prompted == [True]  # the reshare's gate asked once
    assert changed.threshold_scheme == "TWO_OF_THREE" and changed.pending_action is None
    assert user.sdk.wallets.list()[0].pending_action is None
    headers, body = webhook.received[-1]
    delegate = dg.open_delegation(body, headers, hmac_secret=gated.secret, private_key=developer_key,
                                  now=_at(wallet_runtime)).share
    server = _server_shamir(wallet_runtime, user.env.id, wallet.id)
    assert _pair_sign(server, delegate, more_paillier[-1], "delegate signs") == wallet.address
    assert user.sdk.wallets.complete_pending(prompt=prompt) == []  # nothing left to do


def test_without_a_prompt_the_gate_error_reaches_the_caller(gated: Delegating, app_client: TestClient) -> None:
    user = gated.user
    user.sdk.wallets.create()
    _admin(app_client, gated, "approve", {})
    with pytest.raises(MfaRequiredError):
        user.sdk.wallets.complete_pending(prompt=lambda: None)  # prompted, but no token came of it


def test_a_user_may_decline_an_approval(gated: Delegating, app_client: TestClient) -> None:
    user = gated.user
    wallet = user.sdk.wallets.create()
    _admin(app_client, gated, "approve", {})
    [declined] = user.sdk.wallets.complete_pending(decline=True)
    assert declined.pending_action is None and declined.threshold_scheme == "TWO_OF_TWO"
    with pytest.raises(WalletReshareConflictError):  # nothing left to decline
        user.sdk.wallets.get(wallet.id).decline_delegation()  # type: ignore[union-attr]


def test_operator_revokes_every_wallet_and_each_next_sign_in_reshares(
    wallet_runtime: Runtime, app_client: TestClient, tmp_path: Path, webhook: Webhook,
    developer_key: rsa.RSAPrivateKey, distinct_keys: None, more_paillier: list[PreparedPaillier]
) -> None:
    first = _delegating_user(wallet_runtime, app_client, tmp_path / "a", webhook, developer_key)
    who = sign_in(wallet_runtime, first.user.env)  # a second user of the same environment
    second = Client(first.user.env.id, http_client=app_client)
    second.session.jwt, second.session.user = who.jwt, {"id": who.user.id}
    second.wallets.configure(share_dir=tmp_path / "b")
    delegates = []
    for sdk in (first.user.sdk, second):
        wallet = sdk.wallets.create()
        wallet.reshare(delegate=True)
        headers, body = webhook.received[-1]
        delegates.append((wallet, dg.open_delegation(body, headers, hmac_secret=first.secret,
                                                     private_key=developer_key, now=_at(wallet_runtime)).share))

    headers, body = webhook.received[-1]
    access = dg.open_delegated_access(body, headers, hmac_secret=first.secret,
                                      private_key=developer_key, ring=wallet_keys.delegate_ring().params,
                                      now=_at(wallet_runtime))
    signer = DelegatedSigner(first.user.env.id, access, http_client=app_client)
    signer.sign_message("before the revocation")

    result = _admin(app_client, first, "revoke", {})  # a leaked developer key: every wallet

    with pytest.raises(UnauthorizedError):  # the delegate stops at once, before anyone signs in
        signer.sign_message("after the revocation")

    assert sorted(result["walletIds"]) == sorted(w.id for w, _ in delegates)  # type: ignore[arg-type]
    for sdk, (wallet, delegate) in zip((first.user.sdk, second), delegates, strict=True):
        [listed] = sdk.wallets.list()
        assert listed.pending_action == "revoke_delegation"  # type: ignore[union-attr]
        [done] = sdk.wallets.complete_pending()
        assert done.threshold_scheme == "TWO_OF_TWO" and done.pending_action is None
        server = _server_shamir(wallet_runtime, first.user.env.id, wallet.id)
        with pytest.raises(WalletProofInvalidError):  # the old delegate share is useless
            wallet_keys.pair_setup(server, delegate, more_paillier[-1])


def _before_confirm(monkeypatch: pytest.MonkeyPatch, sdk: Client, act: object) -> None:
    """Run ``act()`` when the SDK is about to send a reshare's confirmation (after its deal round):
    what the operator does while a user's reshare ceremony is open."""
    original = sdk.request

    def request(method: str, path: str, **kwargs: object) -> object:
        if "/reshare/" in path and path.endswith("/confirm"):
            act()  # type: ignore[operator]
        return original(method, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sdk, "request", request)


@pytest.mark.parametrize("operator_move", ["revoke_all", "switch_off"])
def test_a_revocation_or_off_switch_during_an_open_delegation_reshare_stops_it(
    gated: Delegating, wallet_runtime: Runtime, app_client: TestClient, webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch, operator_move: str,
) -> None:
    """Red-team finding: the reshare's confirmation did not look at the operator's decisions taken
    while the ceremony was open (up to 60 s). A user completing an approved delegation when the
    operator answers a leaked developer key with "revoke every wallet" (which withdraws pending
    approvals) — or switches delegated access off — still became 2-of-3, with a fresh share, pair
    set-up and API key delivered to the revoked key, and no revocation pending on the wallet."""
    user = gated.user
    wallet = user.sdk.wallets.create()
    _admin(app_client, gated, "approve", {"userId": user.signed_in.user.id})
    admin = {"authorization": f"Bearer {user.env.admin_token}"}

    def move() -> None:
        if operator_move == "revoke_all":
            result = _admin(app_client, gated, "revoke", {})
            assert result["withdrawnWalletIds"] == [wallet.id]
        else:
            r = app_client.put(f"/api/v0/environments/{user.env.id}", headers=admin,
                               json={"settings": {"security": {"delegatedAccess": {"enabled": False}}}})
            assert r.status_code == 200, r.text

    _before_confirm(monkeypatch, user.sdk, move)

    def prompt() -> None:
        user.sdk.tokens.set_mfa_token(user.mint_mfa_token(wallet_runtime), single_use=True)

    refusal = CeremonyInvalidError if operator_move == "revoke_all" else DelegatedAccessDisabledError
    with pytest.raises(refusal):
        user.sdk.wallets.complete_pending(prompt=prompt)
    monkeypatch.undo()
    [listed] = user.sdk.wallets.list()
    assert listed.threshold_scheme == "TWO_OF_TWO"  # type: ignore[union-attr]
    assert webhook.received == []  # nothing went to the revoked developer key
    assert _recovers_user_pair(listed, "still the user's own 2-of-2")  # type: ignore[arg-type]


def _recovers_user_pair(wallet: Wallet, text: str) -> bool:
    return reshare_support._recovers(wallet.address, text, wallet.sign_message(text).signature)


def test_a_revocation_during_the_refresh_of_a_delegated_wallet_is_not_lost(
    gated: Delegating, wallet_runtime: Runtime, app_client: TestClient, webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Red-team finding: the refresh of a 2-of-3 wallet (a re-deal) refused to open while a
    revocation was pending, but a revocation marked after it opened was erased by its confirmation
    (which clears ``pending_action``) and the revoked delegate got a fresh share. Now the revocation
    ends the open refresh and stays pending."""
    user = gated.user
    wallet = user.sdk.wallets.create()

    def prompt() -> None:
        user.sdk.tokens.set_mfa_token(user.mint_mfa_token(wallet_runtime), single_use=True)

    prompt()
    wallet.reshare(delegate=True)
    delivered = len(webhook.received)
    _before_confirm(monkeypatch, user.sdk, lambda: _admin(app_client, gated, "revoke", {}))
    prompt()
    with pytest.raises(CeremonyInvalidError, match="revoked"):
        wallet.refresh()
    monkeypatch.undo()
    [listed] = user.sdk.wallets.list()
    assert listed.threshold_scheme == "TWO_OF_THREE"  # type: ignore[union-attr]
    assert listed.pending_action == "revoke_delegation"  # type: ignore[union-attr]
    assert len(webhook.received) == delivered  # no fresh share for the revoked delegate
