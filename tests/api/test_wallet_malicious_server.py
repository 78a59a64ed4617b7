"""Issue 9 through the SDK: a server that sends ckey = Enc(x1 + 2^900) at key generation or at a
refresh is refused by the SDK before any signing ciphertext (c3) leaves it. On the code before
issue 9 both were accepted, and the first signature then leaked x2 to the server."""

from __future__ import annotations

import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.services.runtime import Runtime
from actionmfa.wallet import ecdsa2p, refresh
from actionmfa.wallet.ecdsa2p import PreparedPaillier
from tests import wallet_keys
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser
from tests.wallet_attacks import shifted_encrypt_share

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client


def test_keygen_with_an_offset_ckey_is_refused(open_user: WalletUser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecdsa2p, "encrypt_share", shifted_encrypt_share(2**900))
    with pytest.raises(WalletProofInvalidError) as err:
        open_user.sdk.wallets.create()
    assert err.value.code == "wallet_proof_invalid"
    wallets = open_user.sdk.wallets.list()
    # the server stored its side, but the SDK kept no share: nothing can ever be signed with it
    assert all(open_user.sdk.wallets.load_share(w.id) is None for w in wallets)


@pytest.mark.sqlite_suffices  # the client's check of the server's proof
def test_refresh_with_an_offset_ckey_is_refused_and_the_old_share_still_signs(
    open_user: WalletUser, wallet_runtime: Runtime, shared_paillier: PreparedPaillier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = iter([shared_paillier, *wallet_keys.server_keys()[1:4]])
    wallet_runtime.services.wallets.keys.use(lambda: next(keys))
    wallet = open_user.sdk.wallets.create()
    before = open_user.sdk.wallets.load_share(wallet.id)
    monkeypatch.setattr(refresh, "encrypt_share", shifted_encrypt_share(2**900))
    with pytest.raises(WalletProofInvalidError):
        wallet.refresh()
    assert wallet.key_version == 1
    after = open_user.sdk.wallets.load_share(wallet.id)
    assert before is not None and after is not None and after.ckey == before.ckey
    monkeypatch.undo()
    assert wallet.sign_message("still mine").signature  # the honest old share is untouched
