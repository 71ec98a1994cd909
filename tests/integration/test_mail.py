"""Invitations and reminders through the outbox, to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import select
from starlette.applications import Starlette

from outcomes.config import Settings
from outcomes.fieldwork import outbox, sending
from outcomes.fieldwork.mail import Composed
from outcomes.fieldwork.transport import Delivery, Handed
from outcomes.store.engine import session_scope
from outcomes.store.tables import (
    AuditEvent,
    Enrolment,
    Invitation,
    LearnerIdentity,
    MailMessage,
    Outcome,
    Programme,
    Response,
    SurveyWave,
)
from outcomes.web.server import middleware
from outcomes.web.survey.routes import SurveyRoutes
from tests import factories
from tests.mail_server import Received, RecordingHandler, free_port, smtp_server

NOW = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
LINK = re.compile(r"http://localhost/s/([A-Za-z0-9_-]{43})")


class Clock:
    """A settable clock."""

    def __init__(self, at: dt.datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def server() -> Iterator[tuple[int, RecordingHandler]]:
    with smtp_server() as running:
        yield running


def make_settings(database_url: str, port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": "s" * 40,
        "public_base_url": "http://localhost",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_sender": "outcomes@uni.example",
        "contact_email": "survey-team@uni.example",
        "mail_reply_to": "replies@uni.example",
        "institution_name": "Demo University",
        "smtp_timeout_seconds": 5,
    }
    values.update(changes)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str, server: tuple[int, RecordingHandler]) -> Settings:
    return make_settings(database_url, server[0])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def invite(
    engine: Engine, emails: list[str], *, language: str = "en", **wave: object
) -> tuple[int, list[int]]:
    """An open wave with one unsent invitation per address: (wave id, invitation ids)."""
    with session_scope(engine) as session:
        found = session.exec(select(SurveyWave)).first()
        record = found or factories.mail_wave(session, today=TODAY, **wave)  # type: ignore[arg-type]
        ids = [
            factories.wave_invitation(session, record, email=address, language=language).id or 0
            for address in emails
        ]
        assert record.id is not None
        return record.id, ids


def run(engine: Engine, settings: Settings, clock: Clock) -> sending.RunReport:
    return sending.run_fieldwork(engine, settings, clock=clock)


def messages(engine: Engine) -> list[MailMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(MailMessage).order_by(MailMessage.id)))


def invitation(engine: Engine, invitation_id: int) -> Invitation:
    with session_scope(engine) as session:
        found = session.get(Invitation, invitation_id)
        assert found is not None
        return found


# --- what a message says --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        (
            "en",
            "Demo University: how are you doing since Data Analytics?",
            "please do not share it",
        ),
        (
            "es",
            "Demo University: ¿qué tal le va desde Analítica de datos?",
            "no lo comparta, por favor",
        ),
    ],
)
def test_an_invitation_carries_its_content_and_every_header_a_bulk_sender_needs(
    engine: Engine,
    settings: Settings,
    server: tuple[int, RecordingHandler],
    clock: Clock,
    language: str,
    subject: str,
    phrase: str,
) -> None:
    _, [invitation_id] = invite(engine, ["ana@example.org"], language=language)
    report = run(engine, settings, clock)
    assert report.planned.invitations == 1 and report.sent.sent == 1

    [received] = server[1].received
    assert received.recipients == ["ana@example.org"]
    assert received.sender == "outcomes@uni.example"
    message = received.message()
    assert message["Subject"] == subject
    assert message["From"].addresses[0].addr_spec == "outcomes@uni.example"
    assert message["From"].addresses[0].display_name == "Demo University"
    assert message["To"] == "ana@example.org"
    assert message["Reply-To"] == "replies@uni.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime == NOW
    assert re.fullmatch(r"<[0-9a-f]{16}\.[0-9]+@uni\.example>", message["Message-ID"])
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = LINK.search(text).group(1)  # type: ignore[union-attr]
    assert message["List-Unsubscribe"] == f"<http://localhost/u/{token}>"
    for body in (text, html):
        assert phrase in body
        assert "Demo University" in body
        assert ("Analítica de datos" if language == "es" else "Data Analytics") in body
        assert f"http://localhost/s/{token}" in body
        assert f"http://localhost/u/{token}" in body
        assert "survey-team@uni.example" in body
        assert "Ana" in body
    assert f'href="http://localhost/s/{token}"' in html

    [row] = messages(engine)
    assert (row.status, row.message_id, row.sent_at, row.preview) == (
        "sent",
        message["Message-ID"],
        NOW,
        None,
    )
    assert invitation(engine, invitation_id).sent_at == NOW


def test_a_graduates_name_cannot_inject_markup_into_the_html(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    _, [invitation_id] = invite(engine, ["ana@example.org"])
    with session_scope(engine) as session:
        identity = session.get(LearnerIdentity, invitation(engine, invitation_id).learner_id)
        assert identity is not None
        identity.given_name = '<img src=x onerror="alert(1)">'
        session.add(identity)
    run(engine, settings, clock)
    html = server[1].received[0].message().get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=x" in html


def routes_for(engine: Engine, settings: Settings, clock: Clock) -> Starlette:
    return Starlette(
        routes=SurveyRoutes(settings, engine, clock=clock).routes(),
        middleware=middleware(settings),
    )


def test_the_link_in_the_message_opens_that_graduates_survey_and_opt_out_works_by_post(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    from starlette.testclient import TestClient

    _, [first, second] = invite(engine, ["ana@example.org", "luis@example.org"])
    run(engine, settings, clock)
    by_address = {item.recipients[0]: item.message() for item in server[1].received}
    text = by_address["ana@example.org"].get_body(("plain",)).get_content()
    token = LINK.search(text).group(1)  # type: ignore[union-attr]

    client = TestClient(routes_for(engine, settings, clock), base_url="http://localhost")
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "Data Analytics" in page.text
    assert invitation(engine, first).opened_at == NOW
    assert invitation(engine, second).opened_at is None

    unsubscribe = by_address["luis@example.org"]["List-Unsubscribe"].strip("<>")
    fresh = TestClient(routes_for(engine, settings, clock), base_url="http://localhost")
    answered = fresh.post(
        unsubscribe.removeprefix("http://localhost"),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answered.status_code == 200
    assert invitation(engine, second).opted_out_at == NOW


# --- who gets reminders ---------------------------------------------------------------------


def test_reminders_follow_the_plan_and_skip_whoever_answered_left_or_was_reached_otherwise(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    addresses = ["keep@x.org", "submitted@x.org", "opted@x.org", "gone@x.org", "other@x.org"]
    addresses += ["bounced@x.org"]
    wave_id, ids = invite(engine, addresses, max_reminders=2, reminder_gap_days=7)
    ids_by = dict(zip(addresses, ids, strict=True))
    run(engine, settings, clock)
    assert sorted(server[1].recipients()) == sorted(addresses)

    with session_scope(engine) as session:
        submitted = session.get(Invitation, ids_by["submitted@x.org"])
        assert submitted is not None
        submitted.submitted_at = NOW + dt.timedelta(days=1)
        session.add(submitted)
        opted = session.get(Invitation, ids_by["opted@x.org"])
        assert opted is not None
        identity = session.get(LearnerIdentity, opted.learner_id)
        assert identity is not None
        identity.contact_opted_out_at = NOW
        session.add(identity)
        gone = session.get(Invitation, ids_by["gone@x.org"])
        assert gone is not None
        gone.opted_out_at = NOW
        session.add(gone)
        bounced = session.get(Invitation, ids_by["bounced@x.org"])
        assert bounced is not None
        bounced.bounced_at = NOW
        session.add(bounced)
        other = session.get(Invitation, ids_by["other@x.org"])
        assert other is not None
        session.add(
            Outcome(
                learner_id=other.learner_id,
                enrolment_id=other.enrolment_id,
                wave_id=wave_id,
                source="employer",
                observed_on=TODAY,
                activity="employed_full_time",
                recorded_by="staff@uni.example",
                recorded_at=NOW,
            )
        )
    server[1].received.clear()

    clock.advance(days=6, hours=23)
    assert run(engine, settings, clock).planned.reminders == 0, "not before the gap"
    clock.advance(hours=1)
    assert run(engine, settings, clock).planned.reminders == 1
    assert server[1].recipients() == ["keep@x.org"]
    assert invitation(engine, ids_by["keep@x.org"]).reminders == 1
    assert invitation(engine, ids_by["keep@x.org"]).reminded_at == clock.at

    clock.advance(days=3)
    assert run(engine, settings, clock).planned.reminders == 0, "the gap runs from the reminder"
    clock.advance(days=4)
    assert run(engine, settings, clock).planned.reminders == 1
    clock.advance(days=30)
    assert run(engine, settings, clock).planned.reminders == 0, "no more than N"
    assert server[1].recipients() == ["keep@x.org", "keep@x.org"]
    reminders = [m for m in messages(engine) if m.kind == "reminder"]
    assert [(m.number, m.status) for m in reminders] == [(1, "sent"), (2, "sent")]
    subject = server[1].received[1].message()["Subject"]
    assert subject == "Reminder: a few minutes about Data Analytics"


def test_a_reminders_link_is_the_live_one_and_the_first_link_stops_working(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    from starlette.testclient import TestClient

    invite(engine, ["ana@example.org"], max_reminders=1, reminder_gap_days=2)
    run(engine, settings, clock)
    clock.advance(days=2)
    run(engine, settings, clock)
    first, reminder = (
        LINK.search(item.message().get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
        for item in server[1].received
    )
    assert first != reminder
    client = TestClient(routes_for(engine, settings, clock), base_url="http://localhost")
    assert client.get(f"/s/{reminder}").status_code == 200
    assert client.get(f"/s/{first}").status_code == 404


def test_planning_twice_plans_nothing_more(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    invite(engine, ["a@x.org", "b@x.org"])
    with session_scope(engine) as session:
        assert outbox.plan_due(session, at=NOW) == outbox.PlanReport(2, 0)
    with session_scope(engine) as session:
        assert outbox.plan_due(session, at=NOW) == outbox.PlanReport(0, 0)
    assert len(messages(engine)) == 2


def test_a_graduate_is_first_invited_only_once_the_waves_months_since_their_award_have_passed(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    _, (due, early, unknown) = invite(engine, ["due@x.org", "early@x.org", "unknown@x.org"])
    with session_scope(engine) as session:
        awarded = {
            due: outbox.months_before(TODAY, 6),  # six months ago today: due
            early: outbox.months_before(TODAY, 6) + dt.timedelta(days=1),  # tomorrow
        }
        for invitation_id, issued_on in awarded.items():
            found = session.get(Invitation, invitation_id)
            assert found is not None
            enrolment = session.get(Enrolment, found.enrolment_id)
            assert enrolment is not None
            enrolment.ended_on = issued_on
            credential = factories.credential(
                session, enrolment, external_id=f"urn:cred:{invitation_id}"
            )
            credential.issued_on = issued_on
        # No award date in the records at all: not held back.
        found = session.get(Invitation, unknown)
        assert found is not None
        enrolment = session.get(Enrolment, found.enrolment_id)
        assert enrolment is not None
        enrolment.ended_on = None
        enrolment.status = "in_progress"
    with session_scope(engine) as session:
        assert outbox.plan_due(session, at=NOW) == outbox.PlanReport(2, 0)
    assert {m.invitation_id for m in messages(engine)} == {due, unknown}
    with session_scope(engine) as session:
        tomorrow = NOW + dt.timedelta(days=1)
        assert outbox.plan_due(session, at=tomorrow) == outbox.PlanReport(1, 0)
    assert {m.invitation_id for m in messages(engine)} == {due, unknown, early}


def test_a_message_no_longer_due_when_claimed_is_cancelled_not_sent(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    _, [done, _closed] = invite(engine, ["done@x.org", "later@x.org"])
    with session_scope(engine) as session:
        outbox.plan_due(session, at=NOW)
        row = session.get(Invitation, done)
        assert row is not None
        session.add(
            Response(invitation_id=done, instrument_version_id=1, answers={}, status="complete")
        )
    report = sending.send_due(engine, settings, clock=clock)
    assert (report.sent, report.cancelled) == (1, 1)
    assert server[1].recipients() == ["later@x.org"]
    cancelled = next(m for m in messages(engine) if m.invitation_id == done)
    assert cancelled.status == "cancelled" and cancelled.last_error == "no longer due: submitted"


# --- failures -------------------------------------------------------------------------------


def test_a_refused_recipient_is_a_bounce_and_gets_nothing_more(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    server[1].refuse["nobody@x.org"] = "550 5.1.1 No such user"
    _, [gone, _fine] = invite(engine, ["nobody@x.org", "ana@x.org"], reminder_gap_days=1)
    report = run(engine, settings, clock)
    assert (report.sent.sent, report.sent.bounced) == (1, 1)
    bounced = next(m for m in messages(engine) if m.invitation_id == gone)
    assert bounced.status == "bounced" and bounced.last_error == "550 5.1.1 No such user"
    assert invitation(engine, gone).bounced_at == NOW
    assert invitation(engine, gone).sent_at is None
    clock.advance(days=2)
    assert run(engine, settings, clock).planned.reminders == 1  # only the one who got it
    assert server[1].recipients() == ["ana@x.org", "ana@x.org"]


def test_a_server_that_is_down_leaves_the_batch_for_a_later_run_which_sends_it(
    engine: Engine, database_url: str, clock: Clock
) -> None:
    port = free_port()
    settings = make_settings(database_url, port)
    _, ids = invite(engine, ["a@x.org", "b@x.org"])
    down = run(engine, settings, clock)
    assert down.sent.failed_temporary == 2 and down.sent.unreachable
    rows = messages(engine)
    assert {(m.status, m.attempts, m.next_attempt_at) for m in rows} == {
        ("failed_temporary", 1, NOW + dt.timedelta(minutes=5))
    }
    assert all(invitation(engine, i).sent_at is None for i in ids)

    handler = RecordingHandler()
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(minutes=2)
        assert run(engine, settings, clock).sent.sent == 0, "not before the backoff"
        clock.advance(minutes=3)
        assert run(engine, settings, clock).sent.sent == 2
    finally:
        controller.stop()
    assert sorted(handler.recipients()) == ["a@x.org", "b@x.org"]
    assert all(invitation(engine, i).sent_at == clock.at for i in ids)


def test_temporary_refusals_back_off_and_stop_at_the_cap_with_the_reason(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    settings = make_settings(database_url, server[0], mail_max_attempts=3)
    server[1].refuse["full@x.org"] = "452 4.2.2 Mailbox full"
    invite(engine, ["full@x.org"])
    waits = []
    for _ in range(3):
        run(engine, settings, clock)
        [row] = messages(engine)
        if row.next_attempt_at is not None and row.status == "failed_temporary":
            waits.append(row.next_attempt_at - clock.at)
            clock.at = row.next_attempt_at
    assert waits == [dt.timedelta(minutes=5), dt.timedelta(minutes=10)]
    [row] = messages(engine)
    assert row.status == "cancelled" and row.attempts == 3
    assert row.last_error == "gave up after 3 attempts: 452 4.2.2 Mailbox full"
    assert outbox.backoff(20) == dt.timedelta(hours=6)


def test_each_batch_is_audited_with_counts_and_no_addresses(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    server[1].refuse["nobody@x.org"] = "550 No such user"
    invite(engine, ["nobody@x.org", "ana@x.org"])
    run(engine, settings, clock)
    with session_scope(engine) as session:
        events = list(
            session.exec(select(AuditEvent).where(AuditEvent.action == "mail.batch_sent"))
        )
    [event] = events
    assert event.detail is not None
    assert event.detail["sent"] == 1 and event.detail["bounced"] == 1
    assert "@" not in str(event.detail)


def test_the_rate_limit_spaces_messages(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    import time

    settings = make_settings(database_url, server[0], mail_rate_per_second=20)
    invite(engine, [f"g{i}@x.org" for i in range(6)])
    start = time.monotonic()
    assert run(engine, settings, clock).sent.sent == 6
    assert time.monotonic() - start >= 5 / 20


def test_batches_are_claimed_by_size_over_one_connection_each(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    settings = make_settings(database_url, server[0], mail_batch_size=2)
    invite(engine, [f"g{i}@x.org" for i in range(5)])
    report = run(engine, settings, clock)
    assert (report.sent.sent, report.sent.batches) == (5, 3)


# --- demo mode ------------------------------------------------------------------------------


def test_demo_mode_stores_previews_and_sends_nothing(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    from starlette.testclient import TestClient

    settings = make_settings(database_url, server[0], demo=True)
    _, [invitation_id] = invite(engine, ["ana@example.org"], language="es")
    report = run(engine, settings, clock)
    assert report.sent.sent == 1
    assert server[1].received == []
    [row] = messages(engine)
    assert row.status == "sent" and row.preview is not None
    assert row.preview["to"] == "ana@example.org"
    assert row.preview["subject"].startswith("Demo University: ¿qué tal")
    assert "Su enlace personal" in row.preview["text"]
    assert row.preview["survey_url"] in row.preview["html"]
    assert invitation(engine, invitation_id).sent_at == NOW
    client = TestClient(routes_for(engine, settings, clock), base_url="http://localhost")
    path = row.preview["survey_url"].removeprefix("http://localhost")
    assert client.get(path).status_code == 200


# --- two senders at once --------------------------------------------------------------------


def test_two_senders_at_once_never_send_a_message_twice(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    settings = make_settings(database_url, server[0], mail_batch_size=7)
    addresses = [f"g{i}@x.org" for i in range(60)]
    invite(engine, addresses)
    server[1].delay = 0.005
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            sending.run_fieldwork(engine, settings, clock=clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(server[1].recipients()) == sorted(addresses)
    assert {m.status for m in messages(engine)} == {"sent"}
    with session_scope(engine) as session:
        claims = session.exec(
            select(AuditEvent.object_id).where(AuditEvent.action == "mail.batch_sent")
        ).all()
    assert len({c.split(":")[2] for c in claims if c}) == len(claims)


def _received_programmes(received: list[Received]) -> set[str]:
    return {item.message()["Subject"] for item in received}


def test_the_spanish_title_is_used_only_where_there_is_one(
    engine: Engine, settings: Settings, server: tuple[int, RecordingHandler], clock: Clock
) -> None:
    invite(engine, ["ana@x.org"], language="es")
    with session_scope(engine) as session:
        prog = session.exec(select(Programme)).one()
        prog.title_es = None
        session.add(prog)
    run(engine, settings, clock)
    assert _received_programmes(server[1].received) == {
        "Demo University: ¿qué tal le va desde Data Analytics?"
    }


def test_a_graduate_without_an_address_is_not_planned(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    _, [invitation_id] = invite(engine, ["ana@x.org"])
    with session_scope(engine) as session:
        session.execute(sa.delete(LearnerIdentity))
    assert run(engine, settings, clock).planned.invitations == 0
    assert invitation(engine, invitation_id).sent_at is None


def test_a_graduate_imported_without_an_e_mail_is_not_planned_nor_sent(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    _, [planned_first, imported] = invite(engine, ["ana@x.org", "luis@x.org"])
    with session_scope(engine) as session:
        assert outbox.plan_due(session, at=NOW) == outbox.PlanReport(2, 0)
        # The import stores "no e-mail" as an empty address (learner_identity.email NOT NULL).
        found = session.get(Invitation, imported)
        assert found is not None
        session.execute(
            sa.update(LearnerIdentity)
            .where(LearnerIdentity.learner_id == found.learner_id)  # type: ignore[arg-type]
            .values(email="")
        )
    report = run(engine, settings, clock)
    assert report.sent.sent == 1
    assert invitation(engine, planned_first).sent_at is not None
    assert invitation(engine, imported).sent_at is None
    [cancelled] = [m for m in messages(engine) if m.invitation_id == imported]
    assert cancelled.status == "cancelled" and "no address" in (cancelled.last_error or "")
    with session_scope(engine) as session:
        assert outbox.plan_due(session, at=NOW) == outbox.PlanReport(0, 0)


class DroppingTransport:
    """Accepts messages, then loses the connection before the data of message ``drop_at``."""

    stores_previews = False

    def __init__(self, drop_at: int | None, accepted: list[str]) -> None:
        self.drop_at, self.accepted = drop_at, accepted

    def send(self, message: Composed) -> Handed:
        if self.drop_at is not None and len(self.accepted) == self.drop_at:
            return Handed(Delivery.TEMPORARY, "connection lost (test)", connection_lost=True)
        self.accepted.append(message.to)
        return Handed(Delivery.ACCEPTED)

    def close(self) -> None:
        pass


def test_a_connection_lost_mid_batch_gives_back_what_was_not_handed_over_with_its_old_link(
    engine: Engine, database_url: str, clock: Clock
) -> None:
    settings = make_settings(database_url, 1)
    addresses = [f"g{i:03d}@x.org" for i in range(3 * outbox.CHUNK)]
    _, ids = invite(engine, addresses)
    with session_scope(engine) as session:
        before = {i.id: i.token_hash for i in session.exec(select(Invitation)) if i.id is not None}
    accepted: list[str] = []
    drop_at = outbox.CHUNK + 3  # in the second chunk, while the third is being marked
    report = sending.run_fieldwork(
        engine,
        settings,
        clock=clock,
        transport_factory=lambda _: DroppingTransport(drop_at, accepted),
    )
    assert report.sent.sent == drop_at and report.sent.failed_temporary == 1
    rows = {m.invitation_id: m for m in messages(engine)}
    assert Counter(m.status for m in rows.values()) == Counter(
        {"sent": drop_at, "failed_temporary": 1, "pending": len(addresses) - drop_at - 1}
    )
    with session_scope(engine) as session:
        after = {i.id: i.token_hash for i in session.exec(select(Invitation))}
    for invitation_id, row in rows.items():
        if row.status == "sent":
            assert after[invitation_id] != before[invitation_id]
        else:  # nothing went out: the earlier link is the live one again
            assert after[invitation_id] == before[invitation_id], row.status

    clock.advance(minutes=6)
    again = sending.run_fieldwork(
        engine, settings, clock=clock, transport_factory=lambda _: DroppingTransport(None, accepted)
    )
    assert again.sent.sent == len(addresses) - drop_at
    assert Counter(accepted) == Counter(addresses)
    assert len(ids) == len(addresses)
