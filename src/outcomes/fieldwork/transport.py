"""Handing messages over: one SMTP connection per batch, or the demo outbox.

``SmtpTransport`` speaks MAIL, RCPT and DATA itself rather than calling ``sendmail``, so the
sender knows whether a broken connection happened before the data (the message certainly did
not go: retried) or while it was being sent (it may have gone: uncertain, never resent).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from outcomes.config import Settings
from outcomes.fieldwork.mail import Composed

_PLAIN_ADDRESS = re.compile(r"[^<>\s\"(),;:\\]+@[A-Za-z0-9.-]+")


class Delivery(StrEnum):
    """What became of one message handed to the server."""

    ACCEPTED = "accepted"
    BOUNCED = "bounced"  # 5xx at RCPT: the address is refused
    REFUSED = "refused"  # 5xx at DATA: this message is refused (content, policy)
    TEMPORARY = "temporary"  # 4xx, the sender refused, a time-out before the data
    UNCERTAIN = "uncertain"  # the connection broke while the data was being sent


@dataclass(frozen=True)
class Handed:
    """The server's answer to one message; ``connection_lost``: stop using this connection."""

    delivery: Delivery
    detail: str = ""
    connection_lost: bool = False


class Transport(Protocol):
    """Something that hands messages over: SMTP, or the demo outbox."""

    stores_previews: bool

    def send(self, message: Composed) -> Handed:
        """Hand one message over."""
        ...

    def close(self) -> None:
        """Say goodbye."""
        ...


class TransportUnavailable(Exception):
    """The server could not be reached: every message of the batch waits for a later run."""


def _reply(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(shown.split())}"[:900]


class SmtpTransport:
    """One SMTP connection (STARTTLS or implicit TLS, login when a user is set)."""

    stores_previews = False

    def __init__(self, settings: Settings) -> None:
        self._sender = settings.smtp_sender
        self._mail_from = f"FROM:<{settings.smtp_sender}>"
        timeout = settings.smtp_timeout_seconds
        try:
            if settings.smtp_security == "tls":
                self._smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.smtp_host,
                    settings.smtp_port,
                    timeout=timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self._smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
            self._smtp.ehlo()
            if settings.smtp_security == "starttls":
                self._smtp.starttls(context=ssl.create_default_context())
                self._smtp.ehlo()
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                self._smtp.login(settings.smtp_username, password)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportUnavailable(
                f"the SMTP server {settings.smtp_host}:{settings.smtp_port} could not be "
                f"used ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})"
            ) from None

    def send(self, message: Composed) -> Handed:
        """MAIL, RCPT and DATA by hand, so a broken connection is known to be before or
        during the data (only the latter can have delivered the message)."""
        smtp = self._smtp
        in_data = False
        try:
            # The commands are written here rather than by smtplib's mail() and rcpt(), which
            # parse every address again (a fifth of the client's time per message, measured);
            # addresses of another shape still go through smtplib's quoting.
            code, text = smtp.docmd("MAIL", self._mail_from)
            if code != 250:
                smtp.rset()
                return Handed(Delivery.TEMPORARY, "sender refused: " + _reply(code, text))
            if _PLAIN_ADDRESS.fullmatch(message.to):
                code, text = smtp.docmd("RCPT", f"TO:<{message.to}>")
            else:
                code, text = smtp.rcpt(message.to)
            if code not in (250, 251):
                smtp.rset()
                kind = Delivery.BOUNCED if 500 <= code < 600 else Delivery.TEMPORARY
                return Handed(kind, _reply(code, text))
            in_data = True
            code, text = smtp.data(message.data)
        except smtplib.SMTPDataError as exc:  # the server refused to start the data
            kind = Delivery.REFUSED if 500 <= exc.smtp_code < 600 else Delivery.TEMPORARY
            return Handed(kind, _reply(exc.smtp_code, exc.smtp_error))
        except (OSError, smtplib.SMTPException) as exc:
            detail = f"connection lost ({type(exc).__name__})"
            kind = Delivery.UNCERTAIN if in_data else Delivery.TEMPORARY
            return Handed(kind, detail, connection_lost=True)
        if code == 250:
            return Handed(Delivery.ACCEPTED)
        kind = Delivery.REFUSED if 500 <= code < 600 else Delivery.TEMPORARY
        return Handed(kind, _reply(code, text))

    def close(self) -> None:
        """QUIT, ignoring a server that already went away."""
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()


class DemoTransport:
    """Demo mode: nothing leaves the machine; the outbox page shows what would have."""

    stores_previews = True

    def send(self, message: Composed) -> Handed:
        """Accept every message."""
        return Handed(Delivery.ACCEPTED)

    def close(self) -> None:
        """Nothing to close."""


def open_transport(settings: Settings) -> Transport:
    """The demo outbox in demo mode, else one SMTP connection."""
    if settings.demo:
        return DemoTransport()
    return SmtpTransport(settings)
