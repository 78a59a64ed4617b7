"""Release several calls at once and count how each ended (for single-use and race tests)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from actionmfa.errors import ActionMFAError


def race(n: int, fn: Callable[[], object]) -> Counter[str]:
    """Run ``fn`` in ``n`` threads released together by a barrier; count "ok" or the error code."""
    barrier = threading.Barrier(n)

    def one(_: int) -> str:
        barrier.wait()
        try:
            fn()
            return "ok"
        except ActionMFAError as err:
            return err.code

    with ThreadPoolExecutor(n) as pool:
        return Counter(pool.map(one, range(n)))
