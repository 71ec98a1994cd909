"""Privacy rights: export everything, erase without a trace, delete mode, purge, withdrawal."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from outcomes.config import get_settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.privacy import rights as privacy
from outcomes.store.engine import session_scope
from outcomes.store.tables import (
    AuditEvent,
    Credential,
    Enrolment,
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerExternalId,
    LearnerIdentity,
    Outcome,
    Programme,
    Response,
    ResponseRevision,
)
from tests import factories

DEFINITION = {
    "id": "follow-up-6m",
    "sections": [
        {
            "id": "work",
            "questions": [
                {"id": "activity", "type": "single_choice"},
                {"id": "job_title", "type": "short_text"},
                {"id": "comments", "type": "long_text"},
                {"id": "country", "type": "country"},
            ],
        }
    ],
}
SECRETS = {
    "given_name": "Zebedee",
    "family_name": "Quixotic-Test",
    "email": "zebedee.q@example.org",
    "student_id": "S-998877",
    "badge": "urn:uuid:zebedee-badge",
    "job_title": "Chief Zorgon Officer",
    "comments": "My manager at Wumpus Ltd was great",
    "note": "I moved to Ulan Bator",
}


def _person(session: Session, email: str, badge: str, seed: str) -> dict[str, Any]:
    """A learner with identity, external id, credential, invitation, response and outcome."""
    who = factories.learner(session, email=email)
    session.add(LearnerExternalId(learner_id=who.id, scheme="sis", value=f"{seed}-sis"))
    what = session.info["programme"]
    enrolment = factories.completed_enrolment(session, who, what)
    factories.credential(session, enrolment, external_id=badge)
    invitation = factories.invitation(session, session.info["wave"], enrolment)
    answers = {
        "activity": "employed_full_time",
        "job_title": f"{seed} job",
        "comments": f"{seed} comments",
        "country": "ES",
        "note": f"{seed} note",
    }
    response = Response(
        invitation_id=invitation.id,
        instrument_version_id=session.info["wave"].instrument_version_id,
        answers=answers,
        revision=2,
    )
    session.add(response)
    session.flush()
    for number in (1, 2):
        session.add(
            ResponseRevision(
                response_id=response.id, revision=number, answers=answers, status="partial"
            )
        )
    session.add(
        Outcome(
            learner_id=who.id,
            enrolment_id=enrolment.id,
            wave_id=session.info["wave"].id,
            response_id=response.id,
            source="survey",
            observed_on=dt.date(2025, 1, 15),
            activity="employed_full_time",
        )
    )
    session.flush()
    return {"learner": who, "invitation": invitation}


EXACT = dt.datetime(2025, 2, 17, 14, 33, 7, tzinfo=dt.UTC)
MONTH = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


def _precise_details(session: Session, learner: Learner, invitation: Invitation) -> None:
    """Birth year, consent, grade and fieldwork times, exact to the second."""
    learner.birth_year, learner.consent_at = 1988, EXACT
    session.add(learner)
    for credential in session.exec(select(Credential).where(Credential.learner_id == learner.id)):
        credential.grade = "9.5 / 10 with distinction"
        session.add(credential)
    for name in ("sent_at", "reminded_at", "opened_at", "submitted_at"):
        setattr(invitation, name, EXACT)
    invitation.expires_at = EXACT + dt.timedelta(days=30)
    session.add(invitation)
    response = session.exec(select(Response).where(Response.invitation_id == invitation.id)).one()
    response.started_at = response.updated_at = response.submitted_at = EXACT
    session.add(response)
    for revision in session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == response.id)
    ):
        revision.saved_at = EXACT
        session.add(revision)
    for outcome in session.exec(select(Outcome).where(Outcome.learner_id == learner.id)):
        outcome.observed_on = EXACT.date()
        session.add(outcome)


def _details(session: Session, learner_id: int) -> dict[str, Any]:
    """The re-identifying details of one learner, as stored."""
    learner = session.get(Learner, learner_id)
    assert learner is not None
    invitation = session.exec(select(Invitation).where(Invitation.learner_id == learner_id)).one()
    response = session.exec(select(Response).where(Response.invitation_id == invitation.id)).one()
    revisions = session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == response.id)
    ).all()
    return {
        "birth_year": learner.birth_year,
        "consent_at": learner.consent_at,
        "grades": [
            c.grade
            for c in session.exec(select(Credential).where(Credential.learner_id == learner_id))
        ],
        "invitation": {
            name: getattr(invitation, name)
            for name in ("sent_at", "reminded_at", "opened_at", "submitted_at", "opted_out_at")
        },
        "expires_at": invitation.expires_at,
        "response": [response.started_at, response.updated_at, response.submitted_at],
        "revisions": [r.saved_at for r in revisions],
        "observed_on": [
            o.observed_on
            for o in session.exec(select(Outcome).where(Outcome.learner_id == learner_id))
        ],
    }


@pytest.fixture
def people(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        session.info["programme"] = factories.programme(session)
        wave = factories.wave(session)
        version = session.get(InstrumentVersion, wave.instrument_version_id)
        assert version is not None
        version.definition = DEFINITION
        session.add(version)
        session.info["wave"] = wave
        target = _person(session, SECRETS["email"], SECRETS["badge"], "target")
        identity = session.get(LearnerIdentity, target["learner"].id)
        assert identity is not None
        identity.given_name, identity.family_name = SECRETS["given_name"], SECRETS["family_name"]
        session.add(identity)
        external = session.exec(
            select(LearnerExternalId).where(LearnerExternalId.learner_id == target["learner"].id)
        ).one()
        external.value = SECRETS["student_id"]
        session.add(external)
        response = session.exec(
            select(Response).where(Response.invitation_id == target["invitation"].id)
        ).one()
        answers = {
            **response.answers,
            "job_title": SECRETS["job_title"],
            "comments": SECRETS["comments"],
            "note": SECRETS["note"],
        }
        response.answers = answers
        for revision in session.exec(
            select(ResponseRevision).where(ResponseRevision.response_id == response.id)
        ):
            revision.answers = answers
            session.add(revision)
        _precise_details(session, target["learner"], target["invitation"])
        other = _person(session, "other@example.org", "urn:uuid:other", "other")
        _precise_details(session, other["learner"], other["invitation"])
        return {
            "learner_id": target["learner"].id,
            "ref": target["learner"].ref,
            "token_hash": target["invitation"].token_hash,
            "invitation_id": target["invitation"].id,
            "other_id": other["learner"].id,
        }


def _text_values(session: Session) -> str:
    """Every string and JSON value of every table, as one text to search."""
    chunks = []
    for table in SQLModel.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
        if not columns:
            continue
        for row in session.execute(sa.select(*columns)):
            chunks.extend(json.dumps(v) if not isinstance(v, str) else v for v in row)
    return "\n".join(c for c in chunks if c)


def _aggregates(session: Session) -> dict[str, Any]:
    def count(model: type[SQLModel]) -> int:
        return session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    rows = session.execute(
        sa.select(Outcome.activity, sa.func.count()).group_by(Outcome.activity)
    ).all()
    by_activity = {activity: n for activity, n in rows}
    return {
        "learners": count(Learner),
        "enrolments": count(Enrolment),
        "credentials": count(Credential),
        "outcomes": by_activity,
    }


def test_an_export_holds_everything_but_token_hashes(
    engine: Engine, people: dict, tmp_path: Path
) -> None:
    for key in (people["ref"], SECRETS["email"].upper(), SECRETS["student_id"]):
        with session_scope(engine) as session:
            record = privacy.lookup(session, key=key, actor="cli:test", purpose="exported")
        assert record.learner_id == people["learner_id"]
    assert record.tables["identity"][0]["given_name"] == SECRETS["given_name"]
    assert record.tables["external_ids"][0]["value"] == SECRETS["student_id"]
    assert record.tables["credentials"][0]["external_id"] == SECRETS["badge"]
    assert record.tables["responses"][0]["answers"]["comments"] == SECRETS["comments"]
    assert len(record.tables["response_revisions"]) == 2
    assert len(record.tables["outcomes"]) == 1 and len(record.tables["enrolments"]) == 1
    assert all("token_hash" not in row for row in record.tables["invitations"])
    paths = privacy.write_export(record, tmp_path / "out")
    names = {p.name for p in paths}
    assert {"learner.json", "identity.csv", "responses.csv", "invitations.csv"} <= names
    assert people["token_hash"] not in "".join(p.read_text() for p in paths)
    archive = zipfile.ZipFile(BytesIO(privacy.export_zip(record)))
    assert set(archive.namelist()) == names
    with session_scope(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "privacy.exported")
        ).all()
    assert len(events) == 3 and all(e.object_id == str(people["learner_id"]) for e in events)
    assert SECRETS["email"] not in json.dumps([e.detail for e in events])


def test_an_unknown_or_ambiguous_learner_is_explained(engine: Engine, people: dict) -> None:
    with session_scope(engine) as session, pytest.raises(NotFound, match="No learner matches"):
        privacy.find_learner(session, "nobody@example.org")
    with session_scope(engine) as session:
        identity = session.get(LearnerIdentity, people["other_id"])
        assert identity is not None
        identity.email = SECRETS["email"]
        session.add(identity)
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match="2 learners"):
        privacy.find_learner(session, SECRETS["email"])
    blank = pytest.raises(ValidationProblem, match="Give a learner ref, e-mail address")
    with session_scope(engine) as session, blank:
        privacy.find_learner(session, "   ")


def test_anonymising_leaves_no_trace_of_the_person_and_keeps_the_statistics(
    engine: Engine, people: dict
) -> None:
    with session_scope(engine) as session:
        before = _aggregates(session)
    with session_scope(engine) as session:
        report = privacy.erase_learner(
            session,
            learner_id=people["learner_id"],
            actor="cli:test",
            mode="anonymise",
            settings=get_settings(),
        )
    assert report.rows_deleted == 2  # identity and external id
    assert report.answers_removed == 3 * 3  # three free-text answers, response + 2 revisions
    # birth year, consent, 4 invitation times and the expiry, 3 response times, 2 revisions,
    # 1 outcome date
    assert report.values_coarsened == 1 + 1 + 5 + 3 + 2 + 1
    assert report.grades_removed == 1
    with session_scope(engine) as session:
        assert _aggregates(session) == before
        everything = _text_values(session)
        for value in (*SECRETS.values(), people["ref"], people["token_hash"]):
            assert value not in everything, value
        assert "other comments" in everything  # the other learner is untouched
        learner = session.get(Learner, people["learner_id"])
        assert learner is not None and learner.erased_at is not None
        response = session.exec(
            select(Response).where(Response.invitation_id == people["invitation_id"])
        ).one()
        assert response.answers == {"activity": "employed_full_time", "country": "ES"}
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "privacy.erased")
        ).all()
        assert event.detail and event.detail["mode"] == "anonymise"
        assert event.detail["values_coarsened"] == 13 and event.detail["grades_removed"] == 1


def test_anonymising_coarsens_birth_year_dates_and_times_and_drops_grades(
    engine: Engine, people: dict
) -> None:
    with session_scope(engine) as session:
        other_before = _details(session, people["other_id"])
        privacy.erase_learner(
            session,
            learner_id=people["learner_id"],
            actor="cli:test",
            mode="anonymise",
            settings=get_settings(),
        )
    with session_scope(engine) as session:
        details = _details(session, people["learner_id"])
        assert _details(session, people["other_id"]) == other_before, "others are untouched"
    assert details == {
        "birth_year": 1987,  # 1985-1989, by its middle year
        "consent_at": MONTH,
        "grades": [None],
        "invitation": {
            "sent_at": MONTH,
            "reminded_at": MONTH,
            "opened_at": MONTH,
            "submitted_at": MONTH,
            "opted_out_at": None,
        },
        "expires_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        "response": [MONTH, MONTH, MONTH],
        "revisions": [MONTH, MONTH],
        "observed_on": [MONTH.date()],
    }
    assert other_before["birth_year"] == 1988 and other_before["grades"] == [
        "9.5 / 10 with distinction"
    ]


@pytest.mark.parametrize(
    ("year", "band"), [(1985, 1987), (1987, 1987), (1989, 1987), (1990, 1992), (2004, 2002)]
)
def test_a_birth_year_becomes_the_middle_year_of_its_five_year_band(year: int, band: int) -> None:
    assert privacy.birth_year_band(year) == band


def test_times_are_coarsened_to_the_first_of_their_month_in_utc() -> None:
    madrid = dt.timezone(dt.timedelta(hours=2))
    # 00:30 on 1 March in Madrid is still February in UTC.
    assert privacy.month_start(dt.datetime(2025, 3, 1, 0, 30, tzinfo=madrid)) == dt.datetime(
        2025, 2, 1, tzinfo=dt.UTC
    )
    assert privacy.month_start(dt.date(2025, 2, 17)) == dt.date(2025, 2, 1)


def test_erased_text_is_overwritten_in_the_sqlite_file(sqlite_engine: Engine) -> None:
    marker = "Zorgon-secret-" + "q" * 40
    with session_scope(sqlite_engine) as session:
        who = factories.learner(session, email=f"{marker}@example.org")
        enrolment = factories.completed_enrolment(session, who, factories.programme(session))
        invitation = factories.invitation(session, factories.wave(session), enrolment)
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=1,
                answers={"activity": "employed_full_time", "comments": f"{marker} comments"},
            )
        )
        learner_id = who.id
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    with session_scope(sqlite_engine) as session:
        privacy.erase_learner(
            session,
            learner_id=learner_id,
            actor="cli:test",
            mode="anonymise",
            settings=get_settings(),
        )
    sqlite_engine.dispose()  # the last connection to close checkpoints the WAL into the file
    path = Path(sqlite_engine.url.database or "")
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert marker.encode() not in stored


def test_delete_mode_removes_every_row_of_the_learner(engine: Engine, people: dict) -> None:
    with session_scope(engine) as session:
        privacy.erase_learner(
            session,
            learner_id=people["learner_id"],
            actor="cli:test",
            mode="delete",
            settings=get_settings(),
        )
    with session_scope(engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            if "learner_id" in table.columns:
                left = session.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(table.c.learner_id == people["learner_id"])
                ).scalar_one()
                assert left == 0, table.name
        assert session.get(Learner, people["learner_id"]) is None
        assert (
            session.execute(sa.select(sa.func.count()).select_from(ResponseRevision)).scalar_one()
            == 2
        )
        assert session.get(Learner, people["other_id"]) is not None
        everything = _text_values(session)
        for value in (*SECRETS.values(), people["ref"], people["token_hash"]):
            assert value not in everything, value


def test_withdrawing_consent_erases_through_the_same_path(
    engine: Engine, people: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_ERASURE_MODE", "anonymise")
    with session_scope(engine) as session:
        report = privacy.withdraw_consent(
            session, people["invitation_id"], actor="graduate", settings=get_settings()
        )
    assert report.mode == "anonymise"
    with session_scope(engine) as session:
        assert session.get(LearnerIdentity, people["learner_id"]) is None
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "privacy.erased")
        ).all()
        assert event.detail and event.detail["reason"] == "consent_withdrawn"


def test_purge_erases_only_learners_past_retention(engine: Engine, people: dict) -> None:
    # Both learners' last award is 2024-07-01.
    with session_scope(engine) as session:
        kept = privacy.purge(
            session,
            actor="cli:test",
            older_than_years=2,
            today=dt.date(2026, 6, 30),
            settings=get_settings(),
        )
    assert kept.learners_erased == 0
    with session_scope(engine) as session:
        done = privacy.purge(
            session,
            actor="cli:test",
            older_than_years=2,
            today=dt.date(2026, 7, 2),
            mode="anonymise",
            settings=get_settings(),
        )
    assert done.learners_erased == 2
    with session_scope(engine) as session:
        assert (
            session.execute(sa.select(sa.func.count()).select_from(LearnerIdentity)).scalar_one()
            == 0
        )
        assert {e.action for e in session.exec(select(AuditEvent))} >= {
            "privacy.purged",
            "privacy.erased",
        }


def _learner_created(session: Session, email: str, created: dt.date) -> Learner:
    who = factories.learner(session, email=email)
    who.created_at = dt.datetime.combine(created, dt.time(9), dt.UTC)
    session.add(who)
    session.flush()
    return who


def _open_enrolment(session: Session, who: Learner, started: dt.date) -> None:
    session.add(
        Enrolment(
            learner_id=who.id,
            programme_id=session.info["programme"].id,
            started_on=started,
            status="in_progress",
        )
    )
    session.flush()


def test_purge_reaches_learners_with_no_award_or_enrolment_end_by_their_creation(
    engine: Engine, people: dict
) -> None:
    today = dt.date(2030, 1, 15)  # the people's awards (2024) are long past
    with session_scope(engine) as session:
        session.info["programme"] = session.exec(select(Programme)).first()
        old = _learner_created(session, "old@example.org", dt.date(2020, 5, 1)).id
        new = _learner_created(session, "new@example.org", dt.date(2029, 6, 1)).id
        stale = _learner_created(session, "stale@example.org", dt.date(2020, 5, 1))
        _open_enrolment(session, stale, dt.date(2020, 9, 1))  # never closed
        studying = _learner_created(session, "studying@example.org", dt.date(2020, 5, 1))
        _open_enrolment(session, studying, dt.date(2029, 9, 1))  # began after the cutoff
        ids = {"stale": stale.id, "studying": studying.id}
    with session_scope(engine) as session:
        report = privacy.purge(
            session,
            actor="cli:test",
            older_than_years=2,
            today=today,
            mode="anonymise",
            settings=get_settings(),
        )
    assert report.cutoff == dt.date(2028, 1, 15)
    assert report.learners_erased == 3  # the two people, and the learner created in 2020
    assert report.learners_left == 1  # the enrolment open since 2020
    assert "left 1 learners with an enrolment open since before 2028-01-15" in report.summary()
    with session_scope(engine) as session:
        erased = set(session.exec(select(Learner.id).where(col(Learner.erased_at).is_not(None))))
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "privacy.purged")
        ).all()
    assert erased == {people["learner_id"], people["other_id"], old}
    assert new not in erased and ids["stale"] not in erased and ids["studying"] not in erased
    assert event.detail is not None
    assert event.detail["learners_erased"] == 3 and event.detail["learners_left"] == 1


def test_a_purge_that_leaves_no_one_says_nothing_about_learners_left(
    engine: Engine, people: dict
) -> None:
    with session_scope(engine) as session:
        report = privacy.purge(
            session,
            actor="cli:test",
            older_than_years=2,
            today=dt.date(2026, 6, 30),
            settings=get_settings(),
        )
    assert report.learners_left == 0 and "left" not in report.summary()


def test_free_text_is_recognised_by_question_type_and_else_by_shape() -> None:
    types = privacy.question_types(DEFINITION)
    assert privacy.is_free_text("job_title", "data-analyst", types)
    assert not privacy.is_free_text("country", "ES", types)
    assert not privacy.is_free_text("unknown_key", "employed_full_time", types)
    assert not privacy.is_free_text("unknown_list", ["a", "b_c"], types)
    assert privacy.is_free_text("unknown_key", "Ana from Madrid", types)
    assert not privacy.is_free_text("unknown_number", 42, types)
