"""A real SMTP server for tests (aiosmtpd on a loopback port) that keeps what it receives."""

from __future__ import annotations

import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path
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

    def __init__(
        self, *, credentials: tuple[str, str] | None = None, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.port = free_port()
        self._handler = _Handler()
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if credentials is not None:
            expected_user, expected_password = credentials

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and data.login.decode() == expected_user
                    and data.password.decode() == expected_password
                )
                return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

            kwargs.update(authenticator=authenticator, auth_require_tls=tls_context is not None, auth_required=True)
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


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a fresh self-signed certificate, and that certificate's
    path (to trust it on the client side, e.g. through ``SSL_CERT_FILE``)."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "actionmfa-test-smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "smtp-cert.pem"
    key_path = directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
