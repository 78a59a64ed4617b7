"""``actionmfa serve`` as on a system where ``SO_REUSEPORT`` does not balance (macOS, BSD): the
workers share one listening socket (``run_workers``' fallback), for tests/ops/test_redteam_port_hijack.py.

Run as ``python -m tests.ops.shared_socket_server serve …``; only the supervisor's choice differs.
"""

from __future__ import annotations

if __name__ == "__main__":
    from actionmfa import server
    from actionmfa.cli import main

    server.reuse_port_balances = lambda: False
    main()
