"""The "Other outcome sources" page: record one outcome, import a CSV after seeing its report."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import create_staff_user
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import AuditEvent, Outcome, utcnow
from tests import factories
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "sources.py")


@pytest.fixture
def staff(app_engine: Engine) -> dict[str, int]:
    """Ana (DA-101) and Luis (UX-201) invited to one wave; an admin and a DA-101 manager."""
    with session_scope(app_engine) as session:
        da = factories.programme(session, "DA-101")
        ux = factories.programme(session, "UX-201")
        wave = factories.wave(session)
        for index, (email, programme) in enumerate(
            (("ana@example.org", da), ("luis@example.org", ux))
        ):
            enrolment = factories.completed_enrolment(
                session, factories.learner(session, email=email), programme
            )
            factories.credential(session, enrolment, external_id=f"urn:uuid:{index}")
            factories.invitation(session, wave, enrolment)
        admin = create_staff_user(
            session, email="admin@example.org", role="admin", password=None, actor="test"
        )
        factories.second_factor(session, admin.id or 0)
        manager = create_staff_user(
            session,
            email="manager@example.org",
            role="manager",
            password=None,
            actor="test",
            programme_codes=["DA-101"],
        )
        return {"admin": admin.id or 0, "manager": manager.id or 0, "wave": wave.id or 0}


def _page(user_id: int) -> AppTest:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        signed = factories.signed_in(session, user_id)
    engine.dispose()
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["staff"] = signed
    return at.run()


def _find(at: AppTest, key: str) -> AppTest:
    [field] = [t for t in at.text_input if t.label.startswith("Learner ref")]
    field.input(key)
    [button] = [b for b in at.button if b.label == "Find the graduate"]
    return button.click().run()


def _shown(elements: object) -> list[str]:
    """What the page shows in these elements, Markdown escapes removed."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]  # type: ignore[attr-defined]


def _outcomes(engine: Engine) -> list[Outcome]:
    with Session(engine) as session:
        return list(session.exec(select(Outcome).order_by(col(Outcome.id))).all())


def test_an_administrator_finds_a_graduate_and_records_an_employer_confirmation(
    app_engine: Engine, staff: dict[str, int]
) -> None:
    at = _find(_page(staff["admin"]), "ana@example.org")
    assert not at.error, [e.value for e in at.error]
    assert any(t.value.startswith("Graduate ") for t in at.text)
    [source] = [s for s in at.selectbox if s.label == "Source"]
    source.select("employer")
    [activity] = [s for s in at.selectbox if s.label == "Activity"]
    activity.select("employed_full_time")
    [hours] = [n for n in at.number_input if n.label == "Hours per week"]
    hours.set_value(38.0)
    [salary] = [n for n in at.number_input if n.label == "Salary"]
    salary.set_value(36000.0)
    [period] = [s for s in at.selectbox if s.label == "Pay period"]
    period.select("annual")
    [note] = [t for t in at.text_area if t.label.startswith("Note")]
    note.input("=HR confirmed")
    [record] = [b for b in at.button if b.label == "Record outcome"]
    at = record.click().run()
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [
        "Recorded: employed_full_time (employer) in 2024 cohort — 6 months."
    ]
    [row] = _outcomes(app_engine)
    assert (row.source, row.salary_annual, row.note) == ("employer", 36000.0, "=HR confirmed")
    assert row.recorded_by == "admin@example.org" and row.observed_on == utcnow().date()
    with Session(app_engine) as session:
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "outcome.recorded")
        ).all()
    assert event.actor == f"staff:{staff['admin']}"
    listed = at.dataframe[-1].value
    assert list(listed["source"]) == ["employer"] and "email" not in listed


def test_a_refused_outcome_shows_one_sentence_per_problem(
    app_engine: Engine, staff: dict[str, int]
) -> None:
    at = _find(_page(staff["admin"]), "ana@example.org")
    [activity] = [s for s in at.selectbox if s.label == "Activity"]
    activity.select("seeking_employment")
    [hours] = [n for n in at.number_input if n.label == "Hours per week"]
    hours.set_value(20.0)
    [date] = [d for d in at.date_input if d.label == "Date observed"]
    date.set_value(dt.date(2024, 6, 1))
    [record] = [b for b in at.button if b.label == "Record outcome"]
    at = record.click().run()
    assert _shown(at.error) == [
        "The date observed, 2024-06-01, is before the award on 2024-07-01.",
        "Hours per week applies only to work, not to seeking_employment.",
    ]
    assert _outcomes(app_engine) == []


def test_a_manager_cannot_find_a_graduate_outside_their_programmes(
    app_engine: Engine, staff: dict[str, int]
) -> None:
    at = _find(_page(staff["manager"]), "luis@example.org")
    # Not found, exactly as a graduate who does not exist.
    assert _shown(at.error) == ["No graduate has that learner ref, external id or e-mail address."]
    assert not [b for b in at.button if b.label == "Record outcome"]


def test_a_csv_is_written_only_after_its_report_shows_no_reject(
    app_engine: Engine, staff: dict[str, int]
) -> None:
    wave = staff["wave"]
    bad = (
        "email,wave,source,activity\n"
        f"ana@example.org,{wave},employer,military\n"
        f"luis@example.org,{wave},rumour,military\n"
    ).encode("utf-8-sig")
    at = _page(staff["admin"])
    at.file_uploader[0].set_value(("outcomes.csv", bad, "text/csv"))
    at.run()
    assert [e.value for e in at.error] == [
        "1 of 2 rows rejected (1 problems): nothing was written."
    ]
    report = at.dataframe[0].value
    assert list(report["row"]) == [3] and list(report["column"]) == ["source"]
    assert not [b for b in at.button if b.label.startswith("Write ")]
    assert _outcomes(app_engine) == []

    good = bad.replace(b"rumour", b"phone")
    at.file_uploader[0].set_value(("outcomes.csv", good, "text/csv"))
    at.run()
    assert at.info[0].value == "All 2 rows are valid; nothing was written (dry run)."
    assert _outcomes(app_engine) == []
    [write] = [b for b in at.button if b.label == "Write 2 outcomes"]
    at = write.click().run()
    assert [s.value for s in at.success] == ["2 outcomes recorded."]
    assert [r.source for r in _outcomes(app_engine)] == ["employer", "phone"]
    at.run()  # the same file again: imported, not checked (and refused) a second time
    assert not at.error
    assert [s.value for s in at.success] == [
        "This file is imported; its outcomes are under Recorded."
    ]


HOSTILE = "[click](http://evil) <img src=x onerror=alert(1)>"


def test_hostile_wave_names_and_notes_are_shown_as_data(
    app_engine: Engine, staff: dict[str, int]
) -> None:
    from outcomes.store.tables import SurveyWave

    with session_scope(app_engine) as session:
        wave = session.get(SurveyWave, staff["wave"])
        assert wave is not None
        wave.name = HOSTILE
        session.add(wave)
    at = _find(_page(staff["admin"]), "ana@example.org")
    [note] = [t for t in at.text_area if t.label.startswith("Note")]
    note.input(HOSTILE)
    [record] = [b for b in at.button if b.label == "Record outcome"]
    at = record.click().run()
    [success] = at.success
    assert HOSTILE not in success.value and HOSTILE in _shown([success])[0]
    at = _find(at, "ana@example.org")
    [record] = [b for b in at.button if b.label == "Record outcome"]
    at = record.click().run()  # the second time: refused, the wave named in the sentence
    [error] = at.error
    assert HOSTILE not in error.value and HOSTILE in _shown([error])[0]
    for kind in ("markdown", "caption", "title", "info", "success", "warning"):
        for element in getattr(at, kind):
            assert HOSTILE not in str(element.value), (kind, element.value)
    shown = "".join(df.value.to_csv() for df in at.dataframe)
    assert shown.count(HOSTILE) == 2  # the wave and the note, as data
