"""The monitor's counts equal counts worked out independently from the rows each test made."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outcomes.access.staff import set_programme_scope
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.fieldwork.links import token_hash
from outcomes.fieldwork.monitor import TOTAL, monitor_waves, viewer_wave_figures, wave_figures
from outcomes.fieldwork.reissue import find_invitations, reissue_from_monitor
from outcomes.store.engine import session_scope
from outcomes.store.tables import (
    AuditEvent,
    Invitation,
    Learner,
    LearnerIdentity,
    Programme,
    SurveyWave,
)
from tests import factories
from tests.conftest import TEST_SECRET_KEY

SETTINGS = Settings(secret_key=TEST_SECRET_KEY)
START = dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC)
ACTIVITIES = ("employed_full_time", "continuing_education", "seeking_employment", "unknown")


@dataclass
class Made:
    """What the test made for one graduate, in plain Python (the expected side)."""

    programme: str
    skipped: str | None = None
    sent: dt.datetime | None = None
    bounced: bool = False
    undelivered: str | None = None  # the first message "uncertain" or given up at the cap
    opened: bool = False
    response: str | None = None  # "partial" | "complete"
    submitted: dt.datetime | None = None  # invitation.submitted_at
    response_submitted: dt.datetime | None = None
    declined: bool = False
    opted_out_here: bool = False  # invitation.opted_out_at
    opted_out_everywhere: bool = False  # learner_identity.contact_opted_out_at
    outcome: tuple[str, str] | None = None  # (source, activity)
    reminders: tuple[dt.datetime, ...] = ()


def _plan(seed: int, codes: tuple[str, ...], n: int) -> list[Made]:
    """A varied population: every state the monitor counts, across programmes."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        row = Made(programme=codes[i % len(codes)])
        draw = rng.random()
        if draw < 0.08:
            row.skipped = "opted_out"
        elif draw < 0.12:
            row.skipped = "erased"
        if row.skipped:
            made.append(row)
            continue
        if rng.random() < 0.88:
            row.sent = START + dt.timedelta(days=rng.randrange(4), hours=rng.randrange(12))
        elif rng.random() < 0.5:
            row.undelivered = rng.choice(("uncertain", "gave_up"))
        if row.sent and rng.random() < 0.1:
            row.bounced = True
        elif row.sent:
            row.opened = rng.random() < 0.7
            if row.opened:
                kind = rng.random()
                if kind < 0.25:
                    row.response = "partial"
                elif kind < 0.7:
                    row.response = "complete"
                    when = row.sent + dt.timedelta(days=rng.randrange(9), hours=3)
                    row.response_submitted = when
                    # Some are dated only on the response (the monitor falls back to it).
                    row.submitted = when if rng.random() < 0.8 else None
            if row.response is None and rng.random() < 0.15:
                row.declined = True
            if row.response != "complete" and rng.random() < 0.1:
                row.opted_out_here = True
            if row.response != "complete":
                row.reminders = tuple(
                    row.sent + dt.timedelta(days=7 * k) for k in range(1, rng.randrange(3) + 1)
                )
        if rng.random() < 0.05:
            row.opted_out_everywhere = True
        if row.response == "complete" and rng.random() < 0.7:
            row.outcome = ("survey", rng.choice(ACTIVITIES[:3]))
        elif row.response != "complete" and rng.random() < 0.2:
            row.outcome = (
                rng.choice(("employer", "staff_verified", "phone")),
                rng.choice(ACTIVITIES),
            )
        made.append(row)
    return made


def _write(session: Session, wave: SurveyWave, made: list[Made]) -> None:
    programmes = {p.code: p for p in session.exec(select(Programme)).all()}
    for i, row in enumerate(made):
        who = factories.learner(session, email=f"g{wave.id}-{i}@example.org")
        enrolment = factories.completed_enrolment(session, who, programmes[row.programme])
        invitation = factories.invitation(
            session,
            wave,
            enrolment,
            skipped_reason=row.skipped,
            sent_at=row.sent,
            bounced_at=row.sent + dt.timedelta(minutes=1) if row.bounced else None,
            opened_at=row.sent + dt.timedelta(hours=1) if row.opened else None,
            submitted_at=row.submitted,
            declined_at=START + dt.timedelta(days=2) if row.declined else None,
            opted_out_at=START + dt.timedelta(days=3) if row.opted_out_here else None,
            reminders=len(row.reminders),
        )
        if row.sent is not None:
            factories.mail_message(session, invitation, sent_at=row.sent)
        for number, when in enumerate(row.reminders, start=1):
            factories.mail_message(
                session, invitation, kind="reminder", number=number, sent_at=when
            )
        if row.undelivered == "uncertain":
            factories.mail_message(session, invitation, status="uncertain")
        elif row.undelivered == "gave_up":
            given_up = factories.mail_message(session, invitation, status="cancelled")
            given_up.last_error = "gave up after 8 attempts: 451 try again later"
            session.add(given_up)
        elif row.sent is None and row.skipped is None:
            factories.mail_message(session, invitation, status="pending")  # not yet sent
        if row.response is not None:
            factories.response(
                session, invitation, status=row.response, submitted_at=row.response_submitted
            )
        if row.outcome is not None:
            source, activity = row.outcome
            factories.outcome(session, invitation, source=source, activity=activity)
        if row.opted_out_everywhere:
            identity = session.get(LearnerIdentity, who.id)
            assert identity is not None
            identity.contact_opted_out_at = START
            session.add(identity)
    session.flush()


def _expected(made: list[Made]) -> dict[str, int]:
    """The monitor's counts, worked out from the plan alone."""
    complete = [m.response == "complete" or m.submitted is not None for m in made]
    return {
        "population": len(made),
        "invited": sum(m.skipped is None for m in made),
        "sent": sum(m.sent is not None for m in made),
        "bounced": sum(m.bounced for m in made),
        "undelivered": sum(m.undelivered is not None for m in made),
        "opened": sum(m.opened for m in made),
        "partial": sum(m.response == "partial" for m in made),
        "complete": sum(complete),
        "declined": sum(m.declined for m in made),
        "opted_out": sum(
            m.opted_out_here or m.opted_out_everywhere or m.skipped == "opted_out" for m in made
        ),
        "other_source": sum(m.outcome is not None and m.outcome[0] != "survey" for m in made),
        "known": sum(
            done or (m.outcome is not None and m.outcome[1] != "unknown")
            for m, done in zip(made, complete, strict=True)
        ),
        "skipped": sum(m.skipped is not None for m in made),
        "skipped_opted_out": sum(m.skipped == "opted_out" for m in made),
        "skipped_erased": sum(m.skipped == "erased" for m in made),
    }


@pytest.fixture
def fieldwork(engine: Engine) -> dict[str, object]:
    """A wave of 120 graduates over DA-101 and UX-201, and a wave of OT-301 only."""
    with session_scope(engine) as session:
        for code in ("DA-101", "UX-201", "OT-301"):
            factories.programme(session, code)
        wave = factories.wave(session)
        wave.response_rate_target = 0.5  # its own response target; knowledge from settings
        session.add(wave)
        programmes = {p.code: p for p in session.exec(select(Programme)).all()}
        factories.wave_programme(session, wave, programmes["DA-101"])
        factories.wave_programme(session, wave, programmes["UX-201"])
        made = _plan(13, ("DA-101", "UX-201"), 120)
        _write(session, wave, made)
        other = factories.wave(session, "OT only")
        factories.wave_programme(session, other, programmes["OT-301"])
        other_made = _plan(14, ("OT-301",), 12)
        _write(session, other, other_made)
        manager = factories.staff_user(session, "da.manager@example.org", role="manager")
        set_programme_scope(session, user_id=manager, programme_codes=["DA-101"], actor="test")
        return {
            "wave": wave.id,
            "other": other.id,
            "made": made,
            "programmes": {code: p.id for code, p in programmes.items()},
            "manager": manager,
        }


def test_the_monitor_counts_equal_counts_worked_out_from_the_rows(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    made: list[Made] = fieldwork["made"]  # type: ignore[assignment]
    figures = wave_figures(engine, fieldwork["wave"], scope=None, settings=SETTINGS)  # type: ignore[arg-type]
    by_code = {p.code: p for p in figures.programmes}
    assert sorted(by_code) == ["DA-101", "UX-201"]
    for code, row in by_code.items():
        expected = _expected([m for m in made if m.programme == code])
        assert vars(row.counts) == expected, code
    assert vars(figures.wave.counts) == _expected(made)
    assert figures.wave.code == TOTAL
    # The plan really is varied: every state appears in both programmes.
    for code in by_code:
        assert all(vars(by_code[code].counts).values()), vars(by_code[code].counts)


def test_the_rates_use_the_definitions_and_the_wave_targets_with_the_settings_fallback(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    made: list[Made] = fieldwork["made"]  # type: ignore[assignment]
    settings = SETTINGS
    figures = wave_figures(engine, fieldwork["wave"], scope=None, settings=settings)  # type: ignore[arg-type]
    expected = _expected(made)
    response, knowledge = figures.wave.response_rate, figures.wave.knowledge_rate
    assert response.estimate == pytest.approx(expected["complete"] / expected["invited"])
    assert knowledge.estimate == pytest.approx(expected["known"] / expected["population"])
    assert response.ci_low < response.estimate < response.ci_high  # type: ignore[operator]
    assert (figures.targets.response_rate, figures.targets.response_rate_from) == (0.5, "wave")
    assert figures.targets.knowledge_rate == settings.knowledge_rate_target
    assert figures.targets.knowledge_rate_from == "settings"
    assert response.met is (response.estimate >= 0.5)  # type: ignore[operator]


def test_the_by_day_series_add_up_to_the_totals(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    made: list[Made] = fieldwork["made"]  # type: ignore[assignment]
    figures = wave_figures(engine, fieldwork["wave"], scope=None, settings=SETTINGS)  # type: ignore[arg-type]
    days = {d.day: d for d in figures.by_day}
    assert [d.day for d in figures.by_day] == sorted(days)
    sent = Counter(m.sent.date() for m in made if m.sent is not None)
    reminders = Counter(r.date() for m in made for r in m.reminders)
    completed = Counter(
        (m.submitted or m.response_submitted).date()  # type: ignore[union-attr]
        for m in made
        if m.response == "complete"
    )
    assert {d: v.sent for d, v in days.items() if v.sent} == dict(sent)
    assert {d: v.reminders for d, v in days.items() if v.reminders} == dict(reminders)
    assert {d: v.completed for d, v in days.items() if v.completed} == dict(completed)
    assert sum(d.sent or 0 for d in figures.by_day) == figures.wave.counts.sent
    assert sum(d.completed or 0 for d in figures.by_day) == figures.wave.counts.complete


def test_a_manager_sees_only_their_programme_and_no_wave_of_another(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    made: list[Made] = fieldwork["made"]  # type: ignore[assignment]
    settings = SETTINGS
    with session_scope(engine) as session:
        figures = viewer_wave_figures(
            session,
            settings,
            wave_id=fieldwork["wave"],  # type: ignore[arg-type]
            role="manager",
            user_id=fieldwork["manager"],  # type: ignore[arg-type]
        )
        assert [p.code for p in figures.programmes] == ["DA-101"]
        assert figures.scoped and figures.exact
        assert vars(figures.wave.counts) == _expected([m for m in made if m.programme == "DA-101"])
        assert "UX-201" not in str(figures.to_json())
        sent = sum(m.sent is not None for m in made if m.programme == "DA-101")
        assert sum(d.sent or 0 for d in figures.by_day) == sent
        choices = monitor_waves(session, scope={fieldwork["programmes"]["DA-101"]})  # type: ignore[index]
        assert [c.wave_id for c in choices] == [fieldwork["wave"]]
        assert {c.wave_id for c in monitor_waves(session, scope=None)} == {
            fieldwork["wave"],
            fieldwork["other"],
        }
        with pytest.raises(NotFound, match="No survey wave with id"):
            viewer_wave_figures(
                session,
                settings,
                wave_id=fieldwork["other"],  # type: ignore[arg-type]
                role="manager",
                user_id=fieldwork["manager"],  # type: ignore[arg-type]
            )


def test_a_wave_naming_no_programme_surveys_every_one_and_lists_those_invited(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        first, second = factories.programme(session, "A-1"), factories.programme(session, "B-2")
        wave = factories.wave(session)
        factories.invitation(
            session,
            wave,
            factories.completed_enrolment(session, factories.learner(session, "a@x.org"), first),
        )
        assert [c.wave_id for c in monitor_waves(session, scope={second.id or 0})] == [wave.id]
        figures = wave_figures(session, wave.id or 0, scope={second.id or 0}, settings=SETTINGS)
        assert figures.programmes == () and figures.wave.counts.population == 0
        everyone = wave_figures(session, wave.id or 0, scope=None, settings=SETTINGS)
        assert [p.code for p in everyone.programmes] == ["A-1"]


def test_an_unknown_wave_is_one_plain_sentence(engine: Engine) -> None:
    with pytest.raises(NotFound, match=r"^No survey wave with id 99\.$"):
        wave_figures(engine, 99, scope=None, settings=SETTINGS)


def test_a_link_is_reissued_from_the_monitor_within_scope_and_audited(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    settings = SETTINGS
    at = START + dt.timedelta(days=20)
    da = {fieldwork["programmes"]["DA-101"]}  # type: ignore[index]
    with session_scope(engine) as session:
        wave_id: int = fieldwork["wave"]  # type: ignore[assignment]
        invitations = session.exec(
            select(Invitation).where(Invitation.wave_id == wave_id).order_by(Invitation.id)
        ).all()
        # The first graduate studies DA-101, the second UX-201 (the plan alternates).
        da_one, ux_one = invitations[0], invitations[1]
        email = session.get(LearnerIdentity, da_one.learner_id).email  # type: ignore[union-attr]
        [match] = find_invitations(session, wave_id=wave_id, key=email.upper(), scope=da, at=at)
        assert match.invitation_id == da_one.id and match.programme == "DA-101"
        learner_ref = session.get(Learner, ux_one.learner_id).ref  # type: ignore[union-attr]
        assert find_invitations(session, wave_id=wave_id, key=learner_ref, scope=da, at=at) == ()
        assert (
            len(find_invitations(session, wave_id=wave_id, key=learner_ref, scope=None, at=at)) == 1
        )
        with pytest.raises(NotFound):
            reissue_from_monitor(
                session, settings, invitation_id=ux_one.id or 0, role="manager",
                scope=da, actor="staff:2", at=at,
            )  # fmt: skip
        with pytest.raises(AccessDenied):
            reissue_from_monitor(
                session, settings, invitation_id=da_one.id or 0, role="reviewer",
                scope=None, actor="staff:3", at=at,
            )  # fmt: skip
        old_hash = da_one.token_hash
        reissued = reissue_from_monitor(
            session, settings, invitation_id=da_one.id or 0, role="manager",
            scope=da, actor="staff:2", at=at,
        )  # fmt: skip
    with session_scope(engine) as session:
        fresh = session.get(Invitation, reissued.invitation_id)
        assert fresh is not None and fresh.token_hash == token_hash(settings, reissued.token)
        assert fresh.token_hash != old_hash
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "invitation.reissued")
        ).all()
        assert (event.actor, event.object_id) == ("staff:2", str(da_one.id))


def test_no_link_is_reissued_for_a_graduate_never_contacted(
    engine: Engine, fieldwork: dict[str, object]
) -> None:
    made: list[Made] = fieldwork["made"]  # type: ignore[assignment]
    index = next(i for i, m in enumerate(made) if m.skipped)
    with session_scope(engine) as session:
        invitations = session.exec(
            select(Invitation)
            .where(Invitation.wave_id == fieldwork["wave"])
            .order_by(Invitation.id)
        ).all()
        with pytest.raises(ValidationProblem, match="never contacted"):
            reissue_from_monitor(
                session, SETTINGS, invitation_id=invitations[index].id or 0,
                role="admin", scope=None, actor="staff:1", at=START,
            )  # fmt: skip
