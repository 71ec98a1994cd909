"""The Programmes page: create and edit a programme with every element, a message next to each
invalid input, retire after confirming; a manager sees and changes only their programmes."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from outcomes.access import sessions
from outcomes.access.staff import create_staff_user, programme_scope, set_programme_scope
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import AuditEvent, Programme
from tests import factories
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "programmes.py")


def staff_session(role: str, codes: list[str] | None = None) -> sessions.StaffSession:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        user = create_staff_user(
            session, email=f"{role}@example.org", role=role, password=None, actor="test"
        )
        if role == "admin":
            factories.second_factor(session, user.id or 0)
        if codes is not None:
            set_programme_scope(session, user_id=user.id or 0, programme_codes=codes, actor="test")
        staff = factories.signed_in(session, user.id or 0)
    engine.dispose()
    return staff


@pytest.fixture
def two_programmes(app_engine: Engine) -> Engine:
    with session_scope(app_engine) as session:
        factories.programme(session, "DA-101")
        factories.programme(session, "UX-201")
    return app_engine


def opened(staff: sessions.StaffSession) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["staff"] = staff
    at.run()
    assert not at.exception, at.exception
    return at


def fill(at: AppTest, form: str, **values: str) -> None:
    for name, value in values.items():
        key = f"{form}_{name}"
        for widgets in (at.text_input, at.text_area, at.selectbox):
            found = [w for w in widgets if w.key == key]
            if found:
                widget = found[0]
                if type(widget).__name__ == "Selectbox":
                    widget.select(value)
                else:
                    widget.input(value)
                break
        else:
            raise AssertionError(f"no input {key}")


def press(at: AppTest, label: str) -> None:
    [button] = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, at.exception


def test_an_administrator_creates_a_programme_after_fixing_each_message(
    two_programmes: Engine,
) -> None:
    at = opened(staff_session("admin"))
    fill(
        at,
        "create",
        code="MC-NEW",
        ects="0",
        awarding_body="Universidad de Ejemplo",
        issuer_country="ES",
        learning_outcomes="Design a survey.",
        eqf_level="not applicable",
        assessment_type="portfolio",
        participation_form="blended",
        quality_assurance_type="internal",
        quality_assurance="Internal QA",
        field_of_study="Education",
    )
    press(at, "Create programme")
    shown = [e.value for e in at.error]
    assert shown == [
        "Title is required.",
        "ECTS must be a positive number of credits, at most 300; 0 is not.",
    ]
    fill(at, "create", title="Survey design", ects="3", redesigned_on="2025-03-01")
    press(at, "Create programme")
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Programme MC-NEW created."]
    assert "MC-NEW" in list(at.dataframe[0].value["code"])
    with Session(two_programmes) as session:
        new = session.exec(select(Programme).where(col(Programme.code) == "MC-NEW")).one()
        assert (new.ects, new.eqf_applicable, new.assessment_type) == (3.0, False, "portfolio")
        assert str(new.redesigned_on) == "2025-03-01"


def test_an_edit_shows_the_stored_elements_and_saves_what_changed(two_programmes: Engine) -> None:
    at = opened(staff_session("admin"))
    at.selectbox(key="edit_code").select("UX-201").run()
    assert at.text_input(key="edit_UX-201_ects").value == "6"
    assert at.selectbox(key="edit_UX-201_issuer_country").value == "ES"
    fill(at, "edit_UX-201", ects="-1")
    press(at, "Save changes")
    assert [e.value for e in at.error] == [
        "ECTS must be a positive number of credits, at most 300; -1 is not."
    ]
    fill(at, "edit_UX-201", ects="4.5", grade_scheme="Pass / fail")
    press(at, "Save changes")
    assert [s.value for s in at.success] == ["Programme UX-201 saved."]
    with Session(two_programmes) as session:
        edited = session.exec(select(Programme).where(col(Programme.code) == "UX-201")).one()
        assert (edited.ects, edited.grade_scheme) == (4.5, "Pass / fail")
        [event] = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "programme.edited")
        ).all()
    assert event.detail == {
        "before": {"ects": 6.0, "grade_scheme": None},
        "after": {"ects": 4.5, "grade_scheme": "Pass / fail"},
    }


def test_retiring_needs_a_confirmation(two_programmes: Engine) -> None:
    at = opened(staff_session("admin"))
    at.selectbox(key="retire_code").select("DA-101").run()
    [retire] = [b for b in at.button if b.label == "Retire programme"]
    assert retire.disabled
    at.checkbox(key="retire_sure_DA-101").check().run()
    press(at, "Retire programme")
    assert [s.value for s in at.success] == ["Programme DA-101 is retired."]
    with Session(two_programmes) as session:
        retired = session.exec(select(Programme).where(col(Programme.code) == "DA-101")).one()
        assert retired.status == "retired"


def test_a_manager_sees_and_edits_only_their_programmes_and_keeps_what_they_create(
    two_programmes: Engine,
) -> None:
    staff = staff_session("manager", ["DA-101"])
    at = opened(staff)
    assert list(at.dataframe[0].value["code"]) == ["DA-101"]
    assert at.selectbox(key="edit_code").options == ["DA-101"]
    fill(
        at,
        "create",
        code="MC-MINE",
        title="Mine",
        awarding_body="U",
        issuer_country="PT",
        learning_outcomes="x",
        ects="2",
        eqf_level="4",
        assessment_type="testing",
        participation_form="online",
        quality_assurance_type="external",
        quality_assurance="Agency",
        field_of_study="Law",
    )
    press(at, "Create programme")
    assert not at.error, [e.value for e in at.error]
    assert list(at.dataframe[0].value["code"]) == ["DA-101", "MC-MINE"]
    with Session(two_programmes) as session:
        assert len(programme_scope(session, staff.user_id) or ()) == 2
