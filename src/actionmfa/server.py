"""Process start-up: migrate, bootstrap an empty store, build the app (used by ``actionmfa serve``)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from actionmfa.api.app import create_app, warm_routes
from actionmfa.config import ServerConfig, write_private_file
from actionmfa.connections import ConnectionLimits, attach, ensure_descriptors
from actionmfa.lifecycle import die_with_parent
from actionmfa.services.runtime import Runtime

BOOTSTRAP_FILE = "bootstrap.json"
logger = logging.getLogger("uvicorn.error")


@dataclass(frozen=True)
class Bootstrap:
    environment_id: str
    admin_token: str
    path: Path


def prepare(config: ServerConfig) -> tuple[Runtime, Bootstrap | None]:
    """Migrate the store and, if it is empty, create the first environment and operator token —
    both in one transaction under the database's start-up lock (:meth:`Database.startup`), so that
    servers starting together bootstrap exactly once (issue 11.3)."""
    runtime = Runtime.build(config)
    with runtime.db.startup() as uow:
        result = runtime.environments.bootstrap(uow)
    if result is None:
        return runtime, None
    created, operator_token = result
    path = config.data_dir / BOOTSTRAP_FILE
    write_private_file(path, {"environmentId": created.environment.id, "adminToken": operator_token})
    return runtime, Bootstrap(created.environment.id, operator_token, path)


def warm_up(runtime: Runtime) -> None:
    """What every worker runs beside the requests: the janitor (a sweep every 5 minutes, one worker
    at a time) and the wallet's Paillier key pool, started now so the first wallet creation does
    not wait for a 2048-bit prime search (seconds); the pool fills in a child process."""
    runtime.services.operator.janitor.start()
    if runtime.config.warm_wallet_pool:
        runtime.services.wallets.keys.start()


SUPERVISOR_PID_VARIABLE = "ACTIONMFA_SUPERVISOR_PID"
WORKER_APP = "actionmfa.server:app_from_env"  # the factory each worker of ``serve --workers N`` imports


def die_with_supervisor() -> None:
    """In a worker spawned by :func:`run_workers`: exit now if the supervisor is gone, and whenever
    it goes later (see :func:`app_from_env`); elsewhere nothing."""
    supervisor = os.environ.get(SUPERVISOR_PID_VARIABLE)
    spawner = multiprocessing.parent_process()
    if supervisor and spawner is not None and str(spawner.pid) == supervisor:
        die_with_parent(int(supervisor))  # exits at once if the supervisor is already gone


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory actionmfa.server:app_from_env`` (multi-worker serving).

    A worker of :func:`run_workers` dies with its supervisor (issue 11.4): if the supervisor is
    killed (even with SIGKILL) the worker, and with it its key-pool child, goes too — also when the
    supervisor died while this worker was still starting (a replacement worker importing the app on
    a loaded machine): the worker was then already reparented, and used to live on as an orphan
    serving the shared socket. Its spawning parent is multiprocessing's record, not ``getppid()``."""
    die_with_supervisor()
    config = ServerConfig.from_env()
    runtime = Runtime.build(config)
    app = create_app(runtime, migrate=True)
    warm_routes(app)
    warm_up(runtime)
    return app


def with_tcp_proto(sock: socket.socket) -> socket.socket:
    """The same listening socket, labelled ``IPPROTO_TCP``.

    uvicorn's ``Config.bind_socket()`` leaves ``proto`` at 0; accepted sockets inherit it and
    asyncio then skips ``TCP_NODELAY``, so with ``--workers N`` every keep-alive response waits for
    the client's delayed ACK (~40 ms on Linux; uvicorn issue #3149). Re-wrapping the descriptor
    with the right protocol number restores ``TCP_NODELAY`` on every accepted connection.
    """
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def connection_limits(config: ServerConfig) -> ConnectionLimits:
    """The bounded-connection settings of ``config``, fitted to the open-file limit."""
    return ensure_descriptors(
        ConnectionLimits(
            header_timeout=config.header_timeout,
            body_timeout=config.body_timeout,
            keep_alive_timeout=config.keep_alive_timeout,
            max_connections=config.max_connections,
            max_connections_per_client=config.max_connections_per_client,
        )
    )


def uvicorn_config(app: Any, config: ServerConfig, **options: Any) -> uvicorn.Config:
    """uvicorn's config for ``actionmfa serve``: the bounded protocol (actionmfa.connections), the
    keep-alive timeout and a bounded graceful shutdown (in-flight requests get that long)."""
    ucfg = uvicorn.Config(
        app, host=config.host, port=config.port, log_level="info",
        timeout_graceful_shutdown=config.graceful_shutdown_timeout, **options,
    )
    return attach(ucfg, connection_limits(config))


def reuse_port_balances() -> bool:
    """Whether the kernel spreads connections over the listening sockets of a ``SO_REUSEPORT``
    group (Linux ≥ 3.9). BSD and macOS accept the option but hand connections to one socket."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` in a ``SO_REUSEPORT`` group, not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        # SO_REUSEADDR for the bind only (over a previous run's TIME_WAIT connections): left on a
        # socket that does not listen (the anchor; a worker's until it starts), it lets a process of
        # any user bind the address with SO_REUSEADDR and listen first — the port is then its.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class BalancedWorkers(Multiprocess):
    """uvicorn's supervisor, every worker listening on a socket of its own.

    With one shared listening socket the worker that wakes first accepts the whole burst: 16
    keep-alive connections often split 13/3, and one worker queues while the other idles (issue
    15.1: the p99). Here each worker gets its own listening socket in one ``SO_REUSEPORT`` group,
    and the kernel spreads new connections over the group by a hash of their addresses.

    The supervisor holds the port with an *anchor*, bound but never listening (it takes no
    connections), and keeps no copy of a worker's socket once the worker has it: when a worker
    dies its socket leaves the group at once, and no connection waits on a socket nobody accepts
    from (the kernel resets the few a dying worker had not yet accepted, as it drops those it had).
    Every worker uvicorn starts — at start-up, in place of a dead one, on SIGHUP or SIGTTIN — gets
    a new socket: uvicorn reads :attr:`sockets` each time it makes a worker.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self.anchor = reuse_port_socket(config.host, config.port)
        self.address: tuple[str, int] = (config.host, self.anchor.getsockname()[1])
        self.handed_out: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property  # type: ignore[override]
    def sockets(self) -> list[socket.socket]:
        sock = reuse_port_socket(*self.address)
        self.handed_out.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """uvicorn's ``__init__`` stores the (empty) list; every read makes a new socket."""

    def release(self) -> None:
        """Close the supervisor's copies of the sockets handed to workers since the last call: a
        spawned worker has its descriptor once it has started (``pass_fds``)."""
        while self.handed_out:
            self.handed_out.pop().close()

    def init_processes(self) -> None:
        super().init_processes()
        self.release()

    def handle_signals(self) -> None:  # SIGHUP (restart all), SIGTTIN (one more worker)
        super().handle_signals()
        self.release()

    def keep_subprocess_alive(self) -> None:  # a dead worker's replacement
        super().keep_subprocess_alive()
        self.release()

    def run(self) -> None:
        logger.info("Listening on %s:%d, one socket per worker (SO_REUSEPORT)", *self.address)
        try:
            super().run()
        finally:
            self.release()
            self.anchor.close()


def run_workers(config: uvicorn.Config) -> None:
    """What ``uvicorn --workers N`` does, each worker on a listening socket of its own where the
    kernel balances them (:class:`BalancedWorkers`, Linux); elsewhere one shared socket, fixed by
    :func:`with_tcp_proto`."""
    os.environ[SUPERVISOR_PID_VARIABLE] = str(os.getpid())  # inherited by the workers (app_from_env)
    if reuse_port_balances() and config.uds is None and config.fd is None:
        try:
            supervisor = BalancedWorkers(config)
        except OSError as exc:  # as uvicorn's bind_socket: the address is taken or not ours
            logger.error(exc)
            sys.exit(STARTUP_FAILURE)
        supervisor.run()
        return
    sock = with_tcp_proto(config.bind_socket())
    # Listening at once: uvicorn's bound SO_REUSEADDR socket, not listening until a worker starts,
    # let a process of any user bind the port and listen first (tests/ops/test_redteam_port_hijack.py).
    sock.listen(config.backlog)
    Multiprocess(config, sockets=[sock]).run()
