"""Concurrent rounds: a round runs once; a lock set by one ceremony stops every later completion."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from actionmfa.domain.tokens import Proof
from actionmfa.errors import ActionMFAError
from actionmfa.services.runtime import Runtime
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.payloads import message_request
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def _race(*calls: Callable[[], Any]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            call()
            result = "ok"
        except ActionMFAError as err:
            result = err.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _to_last_round(runtime: Runtime, user: WalletUser, wallet_id: str, share: p2.ClientKeyShare,
                   text: str) -> tuple[str, Any, p2.SignPartial]:
    service = runtime.services.wallets.signing
    ctx = user.ctx(runtime)
    request = message_request(text)
    opened = service.open_sign(ctx, wallet_id, request, Proof())
    digest = request.digest()
    sid = p2.sign_session_id(wallet_id, opened["ceremonyId"], digest, key_version=int(opened["keyVersion"]))
    nonce, state = p2.client_sign_respond(sid, digest, p2.SignCommit.from_json(opened["message"]))
    revealed = service.sign_nonce(ctx, wallet_id, opened["ceremonyId"], request, nonce.to_json())
    partial = p2.client_sign_finish(share, state, p2.SignReveal.from_json(revealed["message"]))
    return opened["ceremonyId"], request, partial


def test_the_same_round_twice_at_once_runs_once(open_user: WalletUser, wallet_runtime: Runtime) -> None:
    wallet = open_user.sdk.wallets.create()
    share = open_user.sdk.wallets.load_share(wallet.id)
    assert share is not None
    ceremony_id, request, partial = _to_last_round(wallet_runtime, open_user, wallet.id, share, "once")
    service, ctx = wallet_runtime.services.wallets.signing, open_user.ctx(wallet_runtime)

    def complete() -> Any:
        return service.sign_complete(ctx, wallet.id, ceremony_id, request, partial.to_json())

    assert sorted(_race(complete, complete)) == ["ceremony_invalid", "ok"]


def test_no_signature_after_a_concurrent_failure(open_user: WalletUser, wallet_runtime: Runtime,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock's race (defence in depth behind Πaff-g, whose check is disabled here so that the
    probe reaches the decryption)."""
    from actionmfa.wallet.zk.piaffg import AffgProof

    monkeypatch.setattr(AffgProof, "verify", lambda self, *a, **k: None)
    wallet = open_user.sdk.wallets.create()
    share = open_user.sdk.wallets.load_share(wallet.id)
    assert share is not None
    service, ctx = wallet_runtime.services.wallets.signing, open_user.ctx(wallet_runtime)
    honest_id, honest_req, honest = _to_last_round(wallet_runtime, open_user, wallet.id, share, "honest")
    bad_id, bad_req, bad = _to_last_round(wallet_runtime, open_user, wallet.id, share, "probe")
    pk = share.paillier
    probe = p2.SignPartial(pk.add(bad.ciphertext, pk.encrypt(1 << 200)), bad.proof)
    outcomes = _race(
        lambda: service.sign_complete(ctx, wallet.id, honest_id, honest_req, honest.to_json()),
        lambda: service.sign_complete(ctx, wallet.id, bad_id, bad_req, probe.to_json()),
    )
    # Either the honest one finished first, or it saw the lock — never a signature after the failure.
    assert "wallet_signature_invalid" in outcomes
    assert sorted(outcomes) in (["ok", "wallet_signature_invalid"], ["wallet_locked", "wallet_signature_invalid"])
    assert open_user.sdk.wallets.list()[0].locked
