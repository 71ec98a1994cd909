"""Composing invitation and reminder e-mails from the templates beside the instruments.

Templates live in ``surveys/mail/{invitation,reminder}.{en,es}.{subject,txt,html}``
(Jinja2; the HTML autoescaped). They see ``institution``, ``programme`` (the Spanish title
where the message is in Spanish and the programme has one), ``contact_email``,
``closes_on``, ``subject`` (in the HTML) and three per-recipient values: ``given_name``,
``survey_url`` and ``opt_out_url``.

Speed: a wave of 50,000 graduates must go out at a few hundred messages per second, and
building an ``email.message.EmailMessage`` per recipient (policy objects, header folding,
content managers) cost more than the SMTP conversation itself (the first attempt measured
150 messages/s, 5.5 times a bare smtplib loop, with most of the time in ``email``). So a
template is rendered once per (kind, language, wave, programme) — the :class:`Template` —
with markers where the per-recipient values go, its headers encoded once, and each message
is then a join of prepared pieces with the recipient's values (escaped for HTML, encoded
quoted-printable by ``binascii``, in C). The result is an ordinary RFC 5322 / MIME message:
the tests parse it back with the standard library's strict parser. Per-recipient values
reach the templates only as markers, so a template must print them as they are (no filters).
"""

from __future__ import annotations

import binascii
import datetime as dt
import html
import re
import secrets
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import jinja2

from outcomes.config import Settings
from outcomes.errors import NotFound
from outcomes.instruments.registry import surveys_dir
from outcomes.vocab import LANGUAGES, MAIL_KINDS, MONTH_NAMES

# Markers stand in for the per-recipient values when a template is rendered once; their
# characters survive HTML autoescaping unchanged and never occur in real text.
_MARK = "\u2063{}\u2063"  # INVISIBLE SEPARATOR around the name
PERSONAL = ("given_name", "survey_url", "opt_out_url")
_SPLIT = re.compile("\u2063(" + "|".join(PERSONAL) + ")\u2063")
PARTS = ("subject", "txt", "html")
CRLF = "\r\n"

_DATE_FORMATS = {"en": "{d:%-d} {month} {d:%Y}", "es": "{d:%-d} de {month} de {d:%Y}"}


def mail_templates_dir() -> Path:
    """Where the mail templates are: ``mail/`` beside the instrument files."""
    return surveys_dir() / "mail"


def long_date(day: dt.date, language: str) -> str:
    """``31 March 2025`` / ``31 de marzo de 2025``."""
    month = MONTH_NAMES[language][day.month - 1]
    return _DATE_FORMATS[language].format(d=day, month=month)


@dataclass(frozen=True)
class Recipient:
    """The per-recipient parts of one message."""

    address: str
    given_name: str
    survey_url: str
    opt_out_url: str


@dataclass(frozen=True)
class Composed:
    """One message ready for SMTP, and what the demo outbox shows of it."""

    message_id: str
    to: str
    subject: str
    data: bytes  # the whole message, CRLF line ends, 7-bit

    def preview(self, text: str, html_body: str, recipient: Recipient) -> dict[str, str]:
        """What the demo outbox stores (demo mode only)."""
        return {
            "to": self.to,
            "subject": self.subject,
            "text": text,
            "html": html_body,
            "survey_url": recipient.survey_url,
            "opt_out_url": recipient.opt_out_url,
            "message_id": self.message_id,
        }


def _pieces(rendered: str) -> tuple[str, ...]:
    """``rendered`` split at the markers: text, name, text, name, ..., text."""
    return tuple(_SPLIT.split(rendered))


def _fill(pieces: tuple[str, ...], values: dict[str, str]) -> str:
    out = list(pieces)
    for index in range(1, len(out), 2):
        out[index] = values[out[index]]
    return "".join(out)


def _crlf(text: str) -> str:
    return CRLF.join(text.replace("\r\n", "\n").split("\n"))


def _quoted_printable_crlf(text: str) -> str:
    """``text``, already with CRLF line ends, quoted-printable."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")


def _folded_headers(settings: Settings, subject: str) -> list[str]:
    """From and Subject as the standard library folds and encodes them (RFC 5322, RFC 2047).

    Done once per template, so its cost does not matter; the per-recipient headers are plain
    ASCII and written by hand.
    """
    head = EmailMessage(policy=policy.SMTP)
    head["From"] = Address(settings.institution_name, addr_spec=settings.smtp_sender)
    head["Subject"] = subject
    text = head.as_bytes().decode("ascii")
    return [line for line in text.split(CRLF + CRLF, 1)[0].split(CRLF) if line] or []


class Template:
    """One kind of message in one language for one wave and programme, rendered once."""

    def __init__(
        self,
        settings: Settings,
        *,
        kind: str,
        language: str,
        programme: str,
        closes_on: dt.date,
        environment: jinja2.Environment | None = None,
    ) -> None:
        if kind not in MAIL_KINDS or language not in LANGUAGES:
            raise NotFound(f"No mail template for {kind} in language {language}.")
        env = environment or template_environment()
        context = {
            "institution": settings.institution_name,
            "programme": programme,
            "contact_email": settings.contact_email,
            "closes_on": long_date(closes_on, language),
            **{name: _MARK.format(name) for name in PERSONAL},
        }
        rendered: dict[str, str] = {}
        for part in PARTS:
            name = f"{kind}.{language}.{part}"
            try:
                template = env.get_template(name)
            except jinja2.TemplateNotFound:
                raise NotFound(
                    f"The mail template {name} is missing from {mail_templates_dir()}."
                ) from None
            rendered[part] = template.render(**context, subject=rendered.get("subject", ""))
            if part == "subject":
                rendered[part] = " ".join(rendered[part].split())
        self.kind, self.language = kind, language
        self.subject = rendered["subject"]
        # Line ends are made CRLF once here; the per-recipient values hold no line breaks.
        self._text = _pieces(_crlf(rendered["txt"].strip() + "\n"))
        self._html = _pieces(_crlf(rendered["html"]))
        self._date: tuple[dt.datetime, str] | None = None
        self._domain = settings.smtp_sender.rpartition("@")[2]
        # A boundary that quoted-printable text cannot contain ("=_" would be "=3D_").
        boundary = f"=_outcomes_{secrets.token_hex(12)}"
        self._head = CRLF.join(
            [
                *_folded_headers(settings, self.subject),
                f"Reply-To: {settings.reply_to}",
                "MIME-Version: 1.0",
                "Auto-Submitted: auto-generated",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                f"Content-Language: {language}",
                f'Content-Type: multipart/alternative; boundary="{boundary}"',
            ]
        )
        part_head = "Content-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: " + (
            "quoted-printable"
        )
        self._text_open = f"--{boundary}{CRLF}{part_head.format(kind='plain')}{CRLF}{CRLF}"
        self._html_open = f"{CRLF}--{boundary}{CRLF}{part_head.format(kind='html')}{CRLF}{CRLF}"
        self._close = f"{CRLF}--{boundary}--{CRLF}"

    def _date_header(self, at: dt.datetime) -> str:
        """``Date:`` of ``at``, formatted once per second of a batch."""
        second = at.replace(microsecond=0)
        if self._date is None or self._date[0] != second:
            self._date = (second, format_datetime(second))
        return self._date[1]

    def bodies(self, recipient: Recipient) -> tuple[str, str]:
        """The plain text and the HTML of one recipient's message (CRLF line ends)."""
        plain = {
            # A name never brings a line break into the text (nor a bare LF into SMTP data).
            "given_name": " ".join(recipient.given_name.split()),
            "survey_url": recipient.survey_url,
            "opt_out_url": recipient.opt_out_url,
        }
        escaped = {name: html.escape(value, quote=True) for name, value in plain.items()}
        return _fill(self._text, plain), _fill(self._html, escaped)

    def compose(
        self, recipient: Recipient, *, at: dt.datetime, message_id: str | None = None
    ) -> tuple[Composed, str, str]:
        """One recipient's message, and its plain text and HTML (for a demo preview).

        ``message_id`` (``<unique@domain>``): by default a random one in the sender's domain.
        """
        text, html_body = self.bodies(recipient)
        message_id = message_id or f"<{secrets.token_hex(16)}@{self._domain}>"
        head = (
            f"{self._head}{CRLF}"
            f"To: {recipient.address}{CRLF}"
            f"Date: {self._date_header(at)}{CRLF}"
            f"Message-ID: {message_id}{CRLF}"
            f"List-Unsubscribe: <{recipient.opt_out_url}>{CRLF}{CRLF}"
        )
        data = "".join(
            (
                head,
                self._text_open,
                _quoted_printable_crlf(text),
                self._html_open,
                _quoted_printable_crlf(html_body),
                self._close,
            )
        ).encode("ascii")
        return Composed(message_id, recipient.address, self.subject, data), text, html_body


def template_environment(directory: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment of the mail templates (HTML autoescaped, undefined refused)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory or mail_templates_dir()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


class Templates:
    """Rendered templates, each built once per (kind, language, wave close date, programme)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.domain = settings.smtp_sender.rpartition("@")[2]
        self._environment = template_environment()
        self._built: dict[tuple[str, str, str, dt.date], Template] = {}

    def get(self, *, kind: str, language: str, programme: str, closes_on: dt.date) -> Template:
        """The template for one kind, language, programme title and close date."""
        key = (kind, language, programme, closes_on)
        found = self._built.get(key)
        if found is None:
            found = Template(
                self._settings,
                kind=kind,
                language=language,
                programme=programme,
                closes_on=closes_on,
                environment=self._environment,
            )
            self._built[key] = found
        return found
