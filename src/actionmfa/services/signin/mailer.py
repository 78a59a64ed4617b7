"""Outgoing mail: a small :class:`Mailer` protocol, an SMTP implementation and a dev log sink.

The runtime holds one mailer, chosen from :class:`actionmfa.config.ServerConfig`:

* ``mail_log`` (``--mail-log``, ``ACTIONMFA_MAIL_LOG``) → :class:`LogMailer`, which writes the
  message to the ``actionmfa.mail`` logger. For development only: the log then holds sign-in codes.
* ``smtp.host`` set → :class:`SmtpMailer` (``smtplib``; STARTTLS and credentials as configured).
* neither → :class:`UnconfiguredMailer`, which refuses with 503 ``email_delivery_failed`` rather
  than dropping the mail silently.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from actionmfa.config import ServerConfig, SmtpConfig
from actionmfa.errors import EmailDeliveryError

log = logging.getLogger("actionmfa.mail")


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None:
        """Deliver ``message`` or raise :class:`EmailDeliveryError`."""
        ...


def _build(message: MailMessage, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Message-ID"] = make_msgid(domain="actionmfa")
    msg.set_content(message.text)
    return msg


class SmtpMailer:
    """One SMTP connection per message (sign-in mail is rare; no pool to go stale)."""

    def __init__(self, config: SmtpConfig) -> None:
        if not config.host:
            raise ValueError("SmtpMailer needs smtp.host")
        self.config = config

    def send(self, message: MailMessage) -> None:
        cfg = self.config
        assert cfg.host is not None  # noqa: S101 - checked in __init__
        try:
            mail = _build(message, cfg.sender)
        except ValueError:  # e.g. a line break in a header: refuse rather than send something else
            log.error("refusing to send a malformed message")
            raise EmailDeliveryError() from None
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.user and cfg.password:
                    smtp.login(cfg.user, cfg.password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            # The reason goes to the log (no message body: it holds a code); the caller gets a 503.
            log.error("SMTP delivery to %s:%s failed: %s", cfg.host, cfg.port, type(exc).__name__)
            raise EmailDeliveryError() from None


class LogMailer:
    """Development sink: the whole message goes to the log (and so do the codes in it)."""

    def __init__(self, sender: str = SmtpConfig.sender) -> None:
        self.sender = sender

    def send(self, message: MailMessage) -> None:
        log.warning(
            "mail (--mail-log, not sent)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
            self.sender,
            message.to,
            message.subject,
            message.text,
        )


class UnconfiguredMailer:
    def send(self, message: MailMessage) -> None:
        log.error("no SMTP host configured (ACTIONMFA_SMTP_HOST) and --mail-log not set; mail not sent")
        raise EmailDeliveryError(
            "Email delivery is not configured on this server: set ACTIONMFA_SMTP_HOST, "
            "or start it with --mail-log (development)"
        )


def mailer_for(config: ServerConfig) -> Mailer:
    if config.mail_log:
        return LogMailer(config.smtp.sender)
    if config.smtp.host:
        return SmtpMailer(config.smtp)
    return UnconfiguredMailer()
