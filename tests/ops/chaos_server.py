"""``actionmfa serve`` whose wallet takes its Paillier keys from tests/vectors/wallet_keys.json instead of
a 2048-bit safe-prime search (seconds per key), for tests/ops/test_kill_under_load.py.

Run as ``python -m tests.ops.chaos_server serve …`` with ``actionmfa``'s own arguments: the real
``serve`` command, start-up, workers and supervisor; only the key source differs (as the wallet API
tests inject it in-process).

Nothing heavy is imported at module level: uvicorn's workers are spawned, so each one imports this
module again (as ``__mp_main__``) before it can answer the supervisor's health pings (5 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actionmfa.services.runtime import Runtime

WORKER_APP = "tests.ops.chaos_server:app_from_env"


def fixed_keys(runtime: Runtime) -> None:
    """Hand out the ten fixed keys in one order shared by every process of the server (a counter in
    the data dir, under a lock), one key ahead per process: a refresh must get another key than its
    wallet's current one, and processes starting at the same key would hand out the same ones."""
    import fcntl

    from tests import wallet_keys

    keys = wallet_keys.server_keys()
    counter = runtime.config.data_dir / "chaos-key-counter"

    def take() -> Any:
        with (runtime.config.data_dir / "chaos-key-counter.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            n = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(n + 1))
        return keys[n % len(keys)]

    runtime.services.wallets.keys.use(take, size=1)
    runtime.services.wallets.keys.rings = wallet_keys.verified_rings()


def _patch() -> None:
    from actionmfa import server

    real = server.warm_up

    def warm_up(runtime: Runtime) -> None:
        fixed_keys(runtime)
        real(runtime)

    server.warm_up = warm_up  # 1 worker: ``serve`` calls it; N workers: ``app_from_env`` does
    server.WORKER_APP = WORKER_APP


def app_from_env() -> Any:
    """Each worker's factory: ``actionmfa.server.app_from_env`` with the fixed keys."""
    from actionmfa import server

    _patch()
    return server.app_from_env()


if __name__ == "__main__":
    _patch()
    from actionmfa.cli import main

    main()
