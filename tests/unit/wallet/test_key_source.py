"""PaillierKeys.use(): switching generators does not wait for a search in progress (issue 11 follow-up).

Before, ``use()`` joined the running pool's filler for up to 10 s, so a test or benchmark that injected
fixed keys into a runtime whose pool had started waited for the 2048-bit search under way."""

from __future__ import annotations

import threading

from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.wallet.keyproofs import PreparedPaillier
from tests import wallet_keys

BOUND = 30.0
SWITCH_BOUND = 5.0  # far above what use() needs now, below the 10 s join it used to do


def test_use_returns_while_the_old_generator_is_still_searching() -> None:
    searching = threading.Event()
    release = threading.Event()
    fixed = wallet_keys.server_keys()[0]

    def slow() -> PreparedPaillier:
        searching.set()
        release.wait(BOUND)
        return wallet_keys.server_keys()[1]

    keys = PaillierKeys(size=1, generator=slow)
    keys.start()
    assert searching.wait(BOUND)
    switched = threading.Event()
    threading.Thread(target=lambda: (keys.use(lambda: fixed, size=1), switched.set()), daemon=True).start()
    try:
        assert switched.wait(SWITCH_BOUND), "use() waited for the old generator"
        assert not release.is_set()  # the old search is still running: use() did not join it
        assert keys.take() is fixed  # the new generator serves; the old pool's key is never handed out
    finally:
        release.set()
        keys.close()
