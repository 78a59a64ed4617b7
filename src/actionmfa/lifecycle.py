"""Child processes that die with their parent (issue 11.4).

A process started by the server (the Paillier key-pool child, a uvicorn worker) must not outlive
the process that started it: before this, a killed worker's key-pool child was reparented to PID 1
and lived on. Two mechanisms, because neither alone covers every case:

* ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux, through ctypes): the kernel kills this process when
  the thread that started it exits — at once, even while it is busy in a prime search;
* a watchdog thread that notices when the parent's pid is no longer our parent (we were reparented)
  and exits — portable, and covers the start-up race (the parent died before ``prctl`` ran).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL = 0.5


def die_with_parent(parent_pid: int, *, interval: float = WATCH_INTERVAL) -> None:
    """Make the calling process exit when ``parent_pid`` (its parent) goes away."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent is already gone
        os._exit(0)

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(interval):
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
