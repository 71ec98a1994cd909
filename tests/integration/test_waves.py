"""Survey waves: the population, launching (idempotent, set-based), closing, scope and audit."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette

from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.fieldwork.waves import (
    WaveInputProblem,
    close_wave,
    create_wave,
    launch_wave,
    list_waves,
    parse_wave_input,
    show_wave,
)
from outcomes.store.engine import session_scope
from outcomes.store.tables import (
    AuditEvent,
    Credential,
    Enrolment,
    Invitation,
    Learner,
    LearnerIdentity,
    MailMessage,
    Programme,
    SurveyWave,
)
from outcomes.web.server import middleware
from outcomes.web.survey.routes import SurveyRoutes
from tests import factories
from tests.conftest import REPO_ROOT
from tests.integration.test_survey_routes import Clock, Graduate

NOW = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.UTC)
WAVE = {
    "instrument": "follow-up-6m",
    "programmes": ["DA-101", "UX-201"],
    "awarded_from": "2024-01-01",
    "awarded_to": "2024-06-30",
    "months": 6,
    "opens_on": "2025-01-15",
    "closes_on": "2025-04-30",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="s" * 40)


def _person(session: Session, *, language: str = "en") -> Learner:
    who = Learner(ref=str(uuid.uuid4()), preferred_language=language)
    session.add(who)
    session.flush()
    session.add(
        LearnerIdentity(
            learner_id=who.id, given_name="A", family_name="B", email=f"{who.ref}@example.org"
        )
    )
    session.flush()
    return who


def _graduate(
    session: Session,
    programme: Programme,
    issued_on: dt.date,
    *,
    who: Learner | None = None,
    status: str = "active",
) -> Credential:
    """A learner (new unless given) who completed ``programme`` and was awarded on ``issued_on``."""
    who = who or _person(session)
    enrolment = Enrolment(
        learner_id=who.id,
        programme_id=programme.id,
        started_on=issued_on - dt.timedelta(days=120),
        ended_on=issued_on - dt.timedelta(days=1),
        status="completed",
    )
    session.add(enrolment)
    session.flush()
    credential = Credential(
        learner_id=who.id,
        programme_id=programme.id,
        enrolment_id=enrolment.id,
        issued_on=issued_on,
        external_id=f"urn:uuid:{uuid.uuid4()}",
        status=status,
        revoked_on=issued_on + dt.timedelta(days=10) if status == "revoked" else None,
        source="manual",
    )
    session.add(credential)
    session.flush()
    return credential


def _withdrawn(
    session: Session, programme: Programme, ended_on: dt.date, *, who: Learner | None = None
) -> Enrolment:
    who = who or _person(session)
    enrolment = Enrolment(
        learner_id=who.id,
        programme_id=programme.id,
        started_on=ended_on - dt.timedelta(days=60),
        ended_on=ended_on,
        status="withdrawn",
    )
    session.add(enrolment)
    session.flush()
    return enrolment


class Institution:
    """Two programmes and their learners, each kind of population member once or more."""

    def __init__(self, session: Session) -> None:
        self.da = factories.programme(session, "DA-101")
        self.ux = factories.programme(session, "UX-201")
        self.other = factories.programme(session, "ZZ-900")  # not in the wave
        in_window = dt.date(2024, 3, 1)
        self.da_graduates = [
            _graduate(session, self.da, in_window + dt.timedelta(days=i)).learner_id
            for i in range(4)
        ]
        self.ux_graduates = [_graduate(session, self.ux, in_window).learner_id for _ in range(2)]
        opted = _graduate(session, self.da, in_window)
        identity = session.get(LearnerIdentity, opted.learner_id)
        assert identity is not None
        identity.contact_opted_out_at = NOW - dt.timedelta(days=300)
        self.opted_out = opted.learner_id
        erased = _graduate(session, self.ux, in_window)
        learner = session.get(Learner, erased.learner_id)
        assert learner is not None
        learner.erased_at = NOW - dt.timedelta(days=200)
        self.erased = erased.learner_id
        # Not in the population: revoked, outside the window, another programme, withdrawn.
        _graduate(session, self.da, in_window, status="revoked")
        _graduate(session, self.da, dt.date(2024, 7, 1))
        _graduate(session, self.other, in_window)
        self.withdrawn = _withdrawn(session, self.da, dt.date(2024, 5, 1)).learner_id
        # One learner graduated from both programmes in the window: counted once, on the
        # later award (UX-201).
        both = _person(session)
        _graduate(session, self.da, dt.date(2024, 2, 1), who=both)
        self.both_credential = _graduate(session, self.ux, dt.date(2024, 6, 1), who=both)
        self.both = both.id
        session.flush()

    @property
    def sendable(self) -> set[int]:
        return {*self.da_graduates, *self.ux_graduates, self.both}  # type: ignore[arg-type]


@pytest.fixture
def institution(engine: Engine) -> Institution:
    with session_scope(engine) as session:
        return Institution(session)


def _create(engine: Engine, *, scope: set[int] | None = None, **changes: Any) -> int:
    with session_scope(engine) as session:
        wave = create_wave(
            session, parse_wave_input({**WAVE, **changes}), actor="staff:1", scope=scope
        )
    return wave.id


def _launch(engine: Engine, settings: Settings, wave_id: int, **kw: Any) -> Any:
    with session_scope(engine) as session:
        return launch_wave(
            session, settings, wave_id, actor="staff:1", scope=kw.pop("scope", None), at=NOW, **kw
        )


def _invitations(engine: Engine, wave_id: int) -> list[Invitation]:
    with Session(engine) as session:
        return list(session.exec(select(Invitation).where(Invitation.wave_id == wave_id)).all())


# --- launching --------------------------------------------------------------------------------


def test_a_launch_invites_each_graduate_once_and_a_second_launch_adds_nothing(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    first = _launch(engine, settings, wave_id)
    assert (first.added, first.skipped_opted_out, first.skipped_erased) == (7, 1, 1)
    assert (first.already_there, first.invitations, first.status) == (0, 9, "open")
    rows = _invitations(engine, wave_id)
    assert {r.learner_id for r in rows if r.skipped_reason is None} == institution.sendable
    assert len({r.token_hash for r in rows}) == 9, "every invitation has its own hash"
    assert all(len(r.token_hash) == 64 and int(r.token_hash, 16) >= 0 for r in rows)
    assert {r.expires_at for r in rows} == {NOW + dt.timedelta(days=settings.invitation_valid_days)}
    assert all(r.sent_at is None and r.reminders == 0 for r in rows)

    again = _launch(engine, settings, wave_id)
    assert (again.created, again.already_there, again.invitations) == (0, 9, 9)
    assert {r.token_hash for r in _invitations(engine, wave_id)} == {r.token_hash for r in rows}
    with Session(engine) as session:
        wave = session.get(SurveyWave, wave_id)
        assert wave is not None and wave.launched_at == NOW, "the first launch's time stays"


def test_a_launch_after_new_credentials_arrived_adds_only_those_graduates(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    _launch(engine, settings, wave_id)
    before = {r.learner_id: r.token_hash for r in _invitations(engine, wave_id)}
    with session_scope(engine) as session:
        da = session.get(Programme, institution.da.id)
        assert da is not None
        newcomers = {_graduate(session, da, dt.date(2024, 4, 2)).learner_id for _ in range(3)}
        # A graduate already invited earns a second credential: still one invitation.
        second = session.get(Learner, institution.da_graduates[0])
        assert second is not None
        ux = session.get(Programme, institution.ux.id)
        assert ux is not None
        _graduate(session, ux, dt.date(2024, 6, 20), who=second)
    result = _launch(engine, settings, wave_id)
    assert (result.added, result.already_there, result.invitations) == (3, 9, 12)
    after = {r.learner_id: r.token_hash for r in _invitations(engine, wave_id)}
    assert set(after) - set(before) == newcomers
    assert {k: after[k] for k in before} == before, "existing invitations are untouched"


def test_the_preview_equals_the_invitations_a_launch_creates(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    with session_scope(engine) as session:
        preview = show_wave(session, wave_id, scope=None).population
    by_programme = {row.code: row for row in preview.programmes}
    assert list(by_programme) == ["DA-101", "UX-201"]
    da, ux = by_programme["DA-101"], by_programme["UX-201"]
    assert (da.to_invite, da.skipped_opted_out, da.skipped_erased, da.already_invited) == (
        4,
        1,
        0,
        0,
    )
    assert (ux.to_invite, ux.skipped_opted_out, ux.skipped_erased, ux.already_invited) == (
        3,
        0,
        1,
        0,
    )
    result = _launch(engine, settings, wave_id)
    assert result.created == preview.to_add == preview.total == 9
    with Session(engine) as session:
        created = session.execute(
            sa.text(
                "SELECT p.code, i.skipped_reason, count(*) FROM invitation i "
                "JOIN enrolment e ON e.id = i.enrolment_id JOIN programme p ON p.id = "
                "e.programme_id WHERE i.wave_id = :w GROUP BY p.code, i.skipped_reason"
            ),
            {"w": wave_id},
        ).all()
        after = show_wave(session, wave_id, scope=None).population
    assert {(c, r, n) for c, r, n in created} == {
        ("DA-101", None, 4),
        ("DA-101", "opted_out", 1),
        ("UX-201", None, 3),
        ("UX-201", "erased", 1),
    }
    assert after.count("already_invited") == 9 and after.to_add == 0


def test_a_learner_with_several_awards_is_invited_once_on_the_latest(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    _launch(engine, settings, wave_id)
    [row] = [r for r in _invitations(engine, wave_id) if r.learner_id == institution.both]
    assert row.enrolment_id == institution.both_credential.enrolment_id


def test_opted_out_and_erased_learners_are_recorded_as_skipped_and_never_sendable(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    _launch(engine, settings, wave_id)
    skipped = {r.learner_id: r for r in _invitations(engine, wave_id) if r.skipped_reason}
    assert {k: r.skipped_reason for k, r in skipped.items()} == {
        institution.opted_out: "opted_out",
        institution.erased: "erased",
    }
    assert all(r.sent_at is None and r.opened_at is None for r in skipped.values())
    with Session(engine) as session:
        assert session.exec(select(MailMessage)).all() == [], "a launch plans no message"
        wave = show_wave(session, wave_id, scope=None).wave
    assert wave.invitations == 9, "the skipped stay in the wave's denominator"


def test_a_wave_gets_its_languages_and_expiry_from_the_learner_and_the_close_date(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    with session_scope(engine) as session:
        learner = session.get(Learner, institution.da_graduates[1])
        assert learner is not None
        learner.preferred_language = "es"
    wave_id = _create(engine, closes_on="2025-02-10")
    _launch(engine, settings, wave_id)
    rows = {r.learner_id: r for r in _invitations(engine, wave_id)}
    assert rows[institution.da_graduates[1]].language == "es"
    assert rows[institution.da_graduates[0]].language == "en"
    assert {r.expires_at for r in rows.values()} == {dt.datetime(2025, 2, 11, tzinfo=dt.UTC)}


def test_a_closed_wave_or_one_past_its_close_date_cannot_be_launched(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    late = _create(engine, opens_on="2024-10-01", closes_on="2025-01-31")
    with pytest.raises(ValidationProblem, match=r"^Wave \d+ closes on 2025-01-31, which has"):
        _launch(engine, settings, late)
    wave_id = _create(engine)
    with session_scope(engine) as session:
        close_wave(session, wave_id, actor="staff:1", scope=None, at=NOW)
    with pytest.raises(ValidationProblem, match="a closed wave cannot be launched"):
        _launch(engine, settings, wave_id)
    assert _invitations(engine, wave_id) == []


# --- non-completers ---------------------------------------------------------------------------


@pytest.fixture
def surveys_allowing_non_completers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped instruments, with follow-up-6m declaring ``non_completers: true``."""
    folder = tmp_path / "surveys"
    shutil.copytree(REPO_ROOT / "surveys", folder)
    path = folder / "follow-up-6m.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nsections:", "\nnon_completers: true\nsections:", 1))
    monkeypatch.setenv("OUTCOMES_SURVEYS_DIR", str(folder))


def test_the_shipped_instruments_refuse_non_completers_in_one_sentence(
    engine: Engine, institution: Institution
) -> None:
    with pytest.raises(WaveInputProblem) as refused:
        _create(engine, non_completers=True)
    assert refused.value.problems == {
        "non_completers": "The instrument follow-up-6m is written for graduates who "
        "completed, so it cannot be sent to non-completers."
    }


def test_non_completers_are_invited_only_where_the_instrument_allows_and_the_wave_asks(
    engine: Engine,
    settings: Settings,
    institution: Institution,
    surveys_allowing_non_completers: None,
) -> None:
    holders = _create(engine, name="holders only")
    everyone = _create(engine, name="with non-completers", non_completers=True)
    assert institution.withdrawn not in {r.learner_id for r in _invitations(engine, holders)}
    _launch(engine, settings, holders)
    with session_scope(engine) as session:
        preview = show_wave(session, everyone, scope=None).population
    result = _launch(engine, settings, everyone)
    assert result.added == 8 and result.invitations == 10
    assert preview.to_add == result.created and preview.count("to_invite") == 8
    invited = {r.learner_id for r in _invitations(engine, everyone)}
    assert institution.withdrawn in invited
    assert institution.withdrawn not in {r.learner_id for r in _invitations(engine, holders)}


def test_a_graduate_who_also_withdrew_is_invited_as_a_graduate(
    engine: Engine,
    settings: Settings,
    institution: Institution,
    surveys_allowing_non_completers: None,
) -> None:
    with session_scope(engine) as session:
        who = session.get(Learner, institution.ux_graduates[0])
        ux = session.get(Programme, institution.ux.id)
        assert who is not None and ux is not None
        later = _withdrawn(session, ux, dt.date(2024, 6, 29), who=who)
    wave_id = _create(engine, non_completers=True)
    _launch(engine, settings, wave_id)
    [row] = [r for r in _invitations(engine, wave_id) if r.learner_id == who.id]
    assert row.enrolment_id != later.id


# --- input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "sentence"),
    [
        (
            {"months": 300},
            "months",
            "The months after award must be a whole number from 0 to 240 (got 300).",
        ),
        (
            {"reminders": 11},
            "reminders",
            "The number of reminders must be a whole number from 0 to 10 (got 11).",
        ),
        (
            {"reminder_gap_days": 0},
            "reminder_gap_days",
            "The gap between reminders must be a whole number of days from 1 to 90 (got 0).",
        ),
        (
            {"response_target": 1.5},
            "response_target",
            "The response-rate target must be a number above 0 and at most 1 (got 1.5).",
        ),
        (
            {"knowledge_target": 0},
            "knowledge_target",
            "The knowledge-rate target must be a number above 0 and at most 1 (got 0).",
        ),
        (
            {"awarded_to": "2023-12-31"},
            "awarded_to",
            "The award window must not end (2023-12-31) before it starts (2024-01-01).",
        ),
        (
            {"closes_on": "2025-01-01"},
            "closes_on",
            "The wave must not close (2025-01-01) before it opens (2025-01-15).",
        ),
        (
            {"opens_on": "15/01/2025"},
            "opens_on",
            "The opening date must be a date written YYYY-MM-DD (got '15/01/2025').",
        ),
        (
            {"months": "6"},
            "months",
            "The months after award must be a whole number from 0 to 240 (got '6').",
        ),
        ({"colour": "red"}, "colour", "colour is not a field of a wave."),
    ],
)
def test_each_bad_field_is_one_plain_sentence(
    changes: dict[str, Any], field: str, sentence: str
) -> None:
    with pytest.raises(WaveInputProblem) as refused:
        parse_wave_input({**WAVE, **changes})
    assert refused.value.problems == {field: sentence}
    assert str(refused.value) == sentence


def test_unknown_instruments_programmes_and_taken_names_are_named(
    engine: Engine, institution: Institution
) -> None:
    _create(engine, name="Spring 2025")
    with pytest.raises(WaveInputProblem) as refused:
        _create(
            engine, instrument="follow-up-99m", programmes=["DA-101", "NO-1"], name="Spring 2025"
        )
    problems = refused.value.problems
    assert problems["instrument"].startswith("There is no shipped instrument 'follow-up-99m'")
    assert problems["programmes"] == "There is no programme with code NO-1."
    assert problems["name"] == "A wave named 'Spring 2025' already exists; choose another name."


def test_a_wave_without_a_name_is_named_after_its_instrument_and_window(
    engine: Engine, institution: Institution
) -> None:
    first, second = _create(engine), _create(engine)
    with Session(engine) as session:
        names = [session.get(SurveyWave, w).name for w in (first, second)]  # type: ignore[union-attr]
    base = "follow-up-6m, awarded 2024-01-01 to 2024-06-30"
    assert names == [base, f"{base} (2)"]


# --- scope and audit --------------------------------------------------------------------------


def test_a_manager_creates_launches_and_sees_only_waves_of_their_programmes(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    assert institution.da.id is not None and institution.ux.id is not None
    scope = {institution.da.id}
    both = _create(engine)  # by an administrator
    everything = _create(engine, programmes=[], name="every programme")
    with pytest.raises(AccessDenied) as refused:
        _create(engine, scope=scope, name="mine and theirs")
    assert str(refused.value) == (
        "You may only survey programmes in your scope, and UX-201 is not."
    )
    with pytest.raises(AccessDenied, match=r"^A wave of every programme needs access"):
        _create(engine, scope=scope, programmes=[], name="all of it")
    mine = _create(engine, scope=scope, programmes=["DA-101"], name="mine")
    with session_scope(engine) as session:
        assert [w.id for w in list_waves(session, scope=scope)] == [mine]
        assert {w.id for w in list_waves(session, scope=None)} == {both, everything, mine}
        for hidden in (both, everything):
            with pytest.raises(NotFound, match=f"^No survey wave with id {hidden}.$"):
                show_wave(session, hidden, scope=scope)
            with pytest.raises(NotFound):
                launch_wave(session, settings, hidden, actor="staff:2", scope=scope, at=NOW)
            with pytest.raises(NotFound):
                close_wave(session, hidden, actor="staff:2", scope=scope, at=NOW)
    result = _launch(engine, settings, mine, scope=scope)
    assert (result.added, result.skipped_opted_out) == (5, 1), "the both-programmes graduate too"


def test_creating_launching_and_closing_are_audited_with_counts(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    _launch(engine, settings, wave_id)
    with session_scope(engine) as session:
        close_wave(session, wave_id, actor="staff:1", scope=None, at=NOW)
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == "survey_wave")
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.actor, e.object_id) for e in events] == [
        ("wave.created", "staff:1", str(wave_id)),
        ("wave.launched", "staff:1", str(wave_id)),
        ("wave.closed", "staff:1", str(wave_id)),
    ]
    assert events[0].detail is not None and events[0].detail["instrument"] == "follow-up-6m"
    assert events[1].detail == {
        "wave_id": wave_id,
        "status": "open",
        "added": 7,
        "skipped": {"opted_out": 1, "erased": 1},
        "already_there": 0,
        "invitations": 9,
    }
    assert events[2].detail == {"cancelled_messages": 0}
    assert "example.org" not in str([e.detail for e in events])


# --- closing ----------------------------------------------------------------------------------


def test_closing_cancels_the_wave_s_pending_messages_and_nothing_else(
    engine: Engine, settings: Settings, institution: Institution
) -> None:
    wave_id = _create(engine)
    other = _create(engine, name="another wave")
    _launch(engine, settings, wave_id)
    _launch(engine, settings, other)
    statuses = ["pending", "failed_temporary", "sent", "bounced"]
    with session_scope(engine) as session:
        mine = [r for r in _invitations(engine, wave_id) if r.skipped_reason is None]
        theirs = [r for r in _invitations(engine, other) if r.skipped_reason is None]
        for invitation, status in zip(mine, statuses, strict=False):
            session.add(MailMessage(invitation_id=invitation.id, kind="invitation", status=status))
        session.add(MailMessage(invitation_id=theirs[0].id, kind="invitation", status="pending"))
    with session_scope(engine) as session:
        result = close_wave(session, wave_id, actor="staff:1", scope=None, at=NOW)
    assert result.cancelled_messages == 2
    with Session(engine) as session:
        after = session.execute(
            sa.select(MailMessage.invitation_id, MailMessage.status)  # type: ignore[call-overload]
        ).all()
        wave = session.get(SurveyWave, wave_id)
    assert {inv: status for inv, status in after} == {
        mine[0].id: "cancelled",
        mine[1].id: "cancelled",
        mine[2].id: "sent",
        mine[3].id: "bounced",
        theirs[0].id: "pending",
    }
    assert wave is not None and (wave.status, wave.closed_at) == ("closed", NOW)
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match="already closed"):
        close_wave(session, wave_id, actor="staff:1", scope=None, at=NOW)


def test_after_a_close_the_survey_can_neither_be_opened_nor_answered(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        invitation_id, token = factories.open_survey(session, settings, at=NOW)
        wave_id = session.get(Invitation, invitation_id).wave_id  # type: ignore[union-attr]
    app = Starlette(
        routes=SurveyRoutes(settings, engine, clock=Clock(NOW)).routes(),
        middleware=middleware(settings),
    )
    graduate = Graduate(app)
    graduate.open(token)
    graduate.start()
    graduate.section("activity", activity="employed")
    open_tab = graduate.csrf()
    with session_scope(engine) as session:
        close_wave(session, wave_id, actor="staff:1", scope=None, at=NOW)
    refused = graduate.post("/survey/section/job", {"nav": "next", "hours": "38"}, csrf=open_tab)
    assert "This survey has closed" in refused.text
    reply = Graduate(app).open(token)
    assert reply.status_code == 410 and "This survey has closed" in reply.text


# --- speed ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_launch_of_twenty_thousand_graduates_is_one_insert_statement(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        programme = factories.programme(session, "DA-101")
        factories.programme(session, "UX-201")
        pid = programme.id
    learner, identity = Learner.__table__, LearnerIdentity.__table__  # type: ignore[attr-defined]
    enrolment, credential = Enrolment.__table__, Credential.__table__  # type: ignore[attr-defined]
    n = 20_000
    with engine.begin() as conn:
        conn.execute(
            learner.insert(),
            [{"id": i, "ref": f"r{i}", "preferred_language": "en"} for i in range(1, n + 1)],
        )
        conn.execute(
            identity.insert(),
            [
                {"learner_id": i, "given_name": "A", "family_name": "B", "email": f"{i}@x.org"}
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            enrolment.insert(),
            [
                {
                    "id": i,
                    "learner_id": i,
                    "programme_id": pid,
                    "started_on": dt.date(2024, 1, 1),
                    "ended_on": dt.date(2024, 2, 1),
                    "status": "completed",
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            credential.insert(),
            [
                {
                    "learner_id": i,
                    "programme_id": pid,
                    "enrolment_id": i,
                    "issued_on": dt.date(2024, 3, 1),
                    "status": "active",
                    "source": "manual",
                }
                for i in range(1, n + 1)
            ],
        )
    wave_id = _create(engine)
    # Speed itself is measured in bench/waves.py; here: the work does not grow with the
    # population, however many graduates it holds (no statement per graduate).
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = _launch(engine, settings, wave_id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert result.added == n
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO INVITATION")]
    assert len(inserts) == 1, inserts
    assert len(statements) < 40, len(statements)
