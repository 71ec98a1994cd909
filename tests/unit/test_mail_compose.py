"""Composing messages from the mail templates: valid MIME, escaped HTML, both languages."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage

import pytest

from outcomes.config import Settings, get_settings
from outcomes.fieldwork.mail import Recipient, Template, long_date, mail_templates_dir
from outcomes.fieldwork.outbox import backoff, stop_reason

AT = dt.datetime(2025, 2, 1, 9, 30, tzinfo=dt.UTC)
TOKEN = "A" * 43


def _settings(**changes: object) -> Settings:
    return Settings.model_validate(
        {"secret_key": "s" * 40, "smtp_sender": "outcomes@uni.example", **changes}
    )


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.strict)
    assert isinstance(parsed, EmailMessage)
    return parsed


RECIPIENT = Recipient(
    "ana@example.org", "Ana & <Co>", f"https://o.example/s/{TOKEN}", f"https://o.example/u/{TOKEN}"
)


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_template_composes_a_message_the_standard_parser_reads_without_a_defect(
    kind: str, language: str
) -> None:
    for part in ("subject", "txt", "html"):
        assert (mail_templates_dir() / f"{kind}.{language}.{part}").is_file()
    template = Template(
        _settings(), kind=kind, language=language, programme="Analítica", closes_on=AT.date()
    )
    composed, text, html = template.compose(RECIPIENT, at=AT)
    assert composed.data.isascii() and b"\r\n" in composed.data
    assert all(len(line) <= 998 for line in composed.data.split(b"\r\n"))
    message = _parse(composed.data)
    assert message.defects == []
    assert message["Subject"] == template.subject
    assert message["Content-Language"] == language
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n")
    assert rich.get_content().replace("\r\n", "\n") == html.replace("\r\n", "\n")
    assert "Ana & <Co>" in text and "Ana &amp; &lt;Co&gt;" in html
    assert long_date(AT.date(), language) in text
    assert "\n" not in text.replace("\r\n", "")  # CRLF only


def test_a_long_non_ascii_subject_is_folded_into_short_encoded_words() -> None:
    settings = _settings(
        institution_name=("Universidad de Ejemplo — Formación Continua " * 2).strip()
    )
    template = Template(
        settings, kind="invitation", language="es", programme="Analítica", closes_on=AT.date()
    )
    composed, _, _ = template.compose(RECIPIENT, at=AT)
    header_lines = composed.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header_lines if b"=?utf-8?" in line) <= 78
    message = _parse(composed.data)
    assert message["Subject"] == template.subject
    assert message["From"].addresses[0].display_name == settings.institution_name


def test_message_ids_are_unique_and_in_the_senders_domain() -> None:
    template = Template(
        _settings(), kind="invitation", language="en", programme="X", closes_on=AT.date()
    )
    ids = {template.compose(RECIPIENT, at=AT)[0].message_id for _ in range(50)}
    assert len(ids) == 50 and all(i.endswith("@uni.example>") for i in ids)


def test_the_older_starttls_switch_still_asks_for_starttls() -> None:
    assert get_settings({"OUTCOMES_SMTP_STARTTLS": "true"}).smtp_security == "starttls"
    assert get_settings({"OUTCOMES_SMTP_SECURITY": "tls"}).smtp_security == "tls"
    assert get_settings({}).reply_to == "outcomes@localhost"


def test_backoff_doubles_from_five_minutes_to_six_hours() -> None:
    assert [backoff(n).total_seconds() / 60 for n in range(1, 8)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
    ]
    assert backoff(8) == dt.timedelta(hours=6)


ROW = {
    "submitted_at": None,
    "response_status": None,
    "opted_out_at": None,
    "contact_opted_out_at": None,
    "skipped_reason": None,
    "email": "a@x.org",
    "bounced_at": None,
    "declined_at": None,
    "other_source": False,
    "wave_status": "open",
    "opens_on": dt.date(2025, 1, 1),
    "closes_on": dt.date(2025, 3, 31),
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"response_status": "complete"}, "submitted"),
        ({"contact_opted_out_at": AT}, "opted out"),
        ({"bounced_at": AT}, "bounced"),
        ({"other_source": True}, "outcome known from another source"),
        ({"wave_status": "closed"}, "wave closed"),
        ({"closes_on": dt.date(2025, 1, 31)}, "wave closed"),
        ({"email": None}, "no address (erased, or none in the records)"),
    ],
)
def test_a_claimed_message_is_stopped_for_the_reasons_a_graduate_would_expect(
    change: dict[str, object], reason: str | None
) -> None:
    assert stop_reason({**ROW, **change}, AT.date()) == reason
