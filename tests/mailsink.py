"""A real SMTP server for tests (aiosmtpd on a loopback port) that keeps what it receives."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: Message
    auth_user: str | None

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",)) if hasattr(self.message, "get_body") else self.message
        assert part is not None
        return str(part.get_content())

    def code(self) -> str:
        match = re.search(r"\b(\d{6})\b", self.text)
        assert match, self.text
        return match.group(1)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        auth = session.auth_data
        user = auth.login.decode() if isinstance(auth, LoginPassword) else None
        item = Received(
            envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default), user
        )
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()
        return "250 Message accepted"


class SmtpSink:
    """``with SmtpSink() as sink:`` — ``sink.port``; ``sink.last()`` is the newest message."""

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self._handler = _Handler()
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            expected_user, expected_password = credentials

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and data.login.decode() == expected_user
                    and data.password.decode() == expected_password
                )
                return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

            kwargs = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self._handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self._handler.arrived:
            return list(self._handler.received)

    def last(self) -> Received:
        """The newest message (the server hands it over before the client's send returns)."""
        items = self.received
        assert items, "no mail received"
        return items[-1]
