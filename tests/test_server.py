"""Process start-up helpers (actionmfa.server)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from actionmfa.server import with_tcp_proto
from tests.mailsink import free_port


def test_worker_socket_keeps_tcp_nodelay() -> None:
    """uvicorn#3149: a pre-bound listener with proto 0 loses TCP_NODELAY on accepted sockets."""
    config = uvicorn.Config("actionmfa.server:app_from_env", host="127.0.0.1", port=free_port())
    raw = config.bind_socket()
    assert raw.proto == 0  # the bug this works around; if uvicorn fixes it, this helper is a no-op
    fileno = raw.fileno()
    sock = with_tcp_proto(raw)
    assert sock.proto == socket.IPPROTO_TCP and sock.fileno() == fileno

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) == 1
