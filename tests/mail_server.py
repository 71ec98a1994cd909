"""A real SMTP server on loopback for tests (aiosmtpd), keeping its own log of what it accepted.

The log is the server's word, independent of the outbox: a test compares the two.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server received it."""

    sender: str
    recipients: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        """The message parsed by the standard library's strict parser."""
        parsed = email.message_from_bytes(self.data, policy=policy.strict)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Accepts everything but the addresses told to refuse; records what it accepted."""

    refuse: dict[str, str] = field(default_factory=dict)  # address → "550 ..." or "450 ..."
    delay: float = 0.0  # seconds spent on each message before answering 250
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:  # the server's log: written before it answers
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def recipients(self) -> list[str]:
        """Every recipient of every accepted message, repeats included."""
        with self.lock:
            return [to for item in self.received for to in item.recipients]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(handler: RecordingHandler | None = None) -> Iterator[tuple[int, RecordingHandler]]:
    """An SMTP server on 127.0.0.1 for the duration: (port, handler)."""
    handler = handler or RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()
