"""The Survey waves page: create a wave, preview its population, launch and close it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import create_staff_user
from outcomes.config import get_settings
from outcomes.fieldwork.waves import create_wave, parse_wave_input
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import AuditEvent, Invitation, SurveyWave
from tests import factories
from tests.conftest import REPO_ROOT
from tests.integration.test_waves import WAVE, Institution

PAGE = str(REPO_ROOT / "pages" / "waves.py")
FUTURE = dt.date.today() + dt.timedelta(days=400)


@pytest.fixture
def staff(app_engine: Engine) -> dict[str, int]:
    with session_scope(app_engine) as session:
        Institution(session)
        admin = create_staff_user(
            session, email="admin@example.org", role="admin", password=None, actor="test"
        )
        factories.second_factor(session, admin.id or 0)
        manager = create_staff_user(
            session,
            email="da.manager@example.org",
            role="manager",
            password=None,
            actor="test",
            programme_codes=["DA-101"],
        )
        return {"admin": admin.id or 0, "manager": manager.id or 0}


def _page(user_id: int) -> AppTest:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        signed_in = factories.signed_in(session, user_id)
    engine.dispose()
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["staff"] = signed_in
    return at.run()


def _fill_form(at: AppTest, **dates: dt.date) -> None:
    values = {
        "Awarded from": dt.date(2024, 1, 1),
        "Awarded to": dt.date(2024, 6, 30),
        "Opens on": dt.date.today(),
        "Closes on": FUTURE,
        **dates,
    }
    for widget in at.date_input:
        if widget.label in values:
            widget.set_value(values[widget.label])


def _button(at: AppTest, label: str) -> object:
    [found] = [b for b in at.button if b.label == label]
    return found


def test_an_administrator_creates_previews_launches_and_closes_a_wave(
    staff: dict[str, int], app_engine: Engine
) -> None:
    at = _page(staff["admin"])
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["No survey waves yet."]
    [instrument] = [s for s in at.selectbox if s.label == "Instrument"]
    instrument.select("follow-up-6m")
    [programmes] = [m for m in at.multiselect if m.label == "Programmes"]
    assert programmes.options == ["DA-101", "UX-201", "ZZ-900"]
    programmes.select("DA-101").select("UX-201")
    _fill_form(at)
    _button(at, "Create wave").click()  # type: ignore[attr-defined]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [created] = [s.value for s in at.success]
    assert created.startswith("Created wave ") and created.endswith("(a draft).")
    population = at.dataframe[1].value.set_index("programme")
    assert population.loc["DA-101", "to_invite"] == 4
    assert population.loc["UX-201", "skipped_erased"] == 1
    assert "Population 9: 7 to invite, 1 skipped as opted out" in at.text[0].value

    launch = _button(at, "Launch")
    assert launch.disabled, "launching needs the confirmation first"  # type: ignore[attr-defined]
    [confirm] = [c for c in at.checkbox if c.label.startswith("Launch wave ")]
    assert confirm.label.endswith("create 9 invitations")
    confirm.check().run()
    _button(at, "Launch").click()  # type: ignore[attr-defined]
    at.run()
    assert not at.error, [e.value for e in at.error]
    [launched] = [s.value for s in at.success]
    assert launched.endswith(
        "7 invitations added, 1 skipped as opted out, 1 skipped as erased, 0 already there "
        "(9 in all)."
    )
    with Session(app_engine) as session:
        assert len(session.exec(select(Invitation)).all()) == 9
        wave = session.exec(select(SurveyWave)).one()
    assert wave.status == "open"

    [closing] = [c for c in at.checkbox if c.label.startswith("Close wave ")]
    closing.check().run()
    _button(at, "Close").click()  # type: ignore[attr-defined]
    at.run()
    assert [s.value for s in at.success] == [
        f"Wave {wave.id} is closed: answering has stopped and 0 pending messages were cancelled."
    ]
    assert not [b for b in at.button if b.label in ("Launch", "Close")], "a closed wave is done"
    with Session(app_engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_type == "survey_wave")
        ).all()
    assert list(actions) == ["wave.created", "wave.launched", "wave.closed"]


def test_each_bad_field_of_the_form_is_one_sentence_and_nothing_is_created(
    staff: dict[str, int], app_engine: Engine
) -> None:
    at = _page(staff["admin"])
    [programmes] = [m for m in at.multiselect if m.label == "Programmes"]
    programmes.select("DA-101")
    _fill_form(at, **{"Awarded to": dt.date(2023, 1, 1), "Closes on": dt.date(2020, 1, 1)})
    _button(at, "Create wave").click()  # type: ignore[attr-defined]
    at.run()
    assert [e.value for e in at.error] == [
        "The award window must not end (2023-01-01) before it starts (2024-01-01).",
        f"The wave must not close (2020-01-01) before it opens ({dt.date.today()}).",
    ]
    with Session(app_engine) as session:
        assert session.exec(select(SurveyWave)).all() == []


def test_a_manager_sees_and_surveys_only_their_programmes(
    staff: dict[str, int], app_engine: Engine
) -> None:
    with session_scope(app_engine) as session:
        create_wave(session, parse_wave_input(WAVE), actor="test", scope=None)
        create_wave(
            session,
            parse_wave_input({**WAVE, "programmes": ["DA-101"], "name": "DA only"}),
            actor="test",
            scope=None,
        )
    at = _page(staff["manager"])
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["name"]) == ["DA only"]
    [programmes] = [m for m in at.multiselect if m.label == "Programmes"]
    assert programmes.options == ["DA-101"]
    population = at.dataframe[1].value
    assert list(population["programme"]) == ["DA-101"]
    assert _button(at, "Launch") is not None, "a manager may launch a wave of their programmes"
