"""The fieldwork monitor page: tiles, the programme table, the chart, scope and reissuing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import set_programme_scope
from outcomes.config import get_settings
from outcomes.fieldwork.links import token_hash
from outcomes.fieldwork.monitor import TOTAL
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, Invitation
from tests import factories
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "monitor.py")
SENT = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def monitored(app_engine: Engine) -> dict[str, int]:
    """Wave 1 over DA-101 (4 graduates: 2 complete) and UX-201 (2, none complete); wave 2
    over UX-201 only; an administrator and a manager of DA-101."""
    ids: dict[str, int] = {}
    with session_scope(app_engine) as session:
        da, ux = factories.programme(session, "DA-101"), factories.programme(session, "UX-201")
        wave = factories.wave(session, "Six months on")
        other = factories.wave(session, "UX only")
        factories.wave_programme(session, wave, da)
        factories.wave_programme(session, wave, ux)
        factories.wave_programme(session, other, ux)
        for i, (programme, done) in enumerate(
            [(da, True), (da, True), (da, False), (da, False), (ux, False), (ux, False)]
        ):
            who = factories.learner(session, email=f"g{i}@example.org")
            invitation = factories.invitation(
                session,
                wave,
                factories.completed_enrolment(session, who, programme),
                sent_at=SENT,
                submitted_at=SENT + dt.timedelta(days=2) if done else None,
            )
            if done:
                factories.response(session, invitation, submitted_at=invitation.submitted_at)
            ids[f"invitation{i}"] = invitation.id or 0
        ids["admin"] = factories.staff_user(session, "admin@example.org")
        factories.second_factor(session, ids["admin"])
        ids["manager"] = factories.staff_user(session, "da@example.org", role="manager")
        set_programme_scope(session, user_id=ids["manager"], programme_codes=["DA-101"], actor="t")
        ids["wave"], ids["other"] = wave.id or 0, other.id or 0
    return ids


def _open(engine: Engine, user_id: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    with session_scope(engine) as session:
        at.session_state["staff"] = factories.signed_in(session, user_id)
    return at.run()


def _wave_choice(at: AppTest, wave_id: int) -> AppTest:
    [chooser] = [s for s in at.selectbox if s.label == "Wave"]
    return chooser.set_value(wave_id).run()


def test_an_administrator_sees_both_rates_the_programmes_and_the_days(
    app_engine: Engine, monitored: dict[str, int]
) -> None:
    at = _wave_choice(_open(app_engine, monitored["admin"]), monitored["wave"])
    assert not at.exception, at.exception
    assert at.title[0].value == "Fieldwork monitor"
    response, knowledge = at.metric
    assert (response.label, response.value) == ("Response rate", "33.3%")  # 2 of 6
    assert response.delta == "target 60%: not met"
    assert (knowledge.label, knowledge.value) == ("Knowledge rate", "33.3%")
    table = at.dataframe[0].value.set_index("programme")
    assert list(table.index) == ["DA-101", "UX-201", TOTAL]
    assert table.loc["DA-101", "complete"] == 2 and table.loc["UX-201", "sent"] == 2
    assert table.loc[TOTAL, "population"] == 6
    assert len(at.get("vega_lite_chart")) == 1
    assert [s.label for s in at.selectbox] == ["Wave"]
    assert not at.error


def test_a_manager_sees_only_their_programme_and_the_waves_that_touch_it(
    app_engine: Engine, monitored: dict[str, int]
) -> None:
    at = _open(app_engine, monitored["manager"])
    assert not at.exception, at.exception
    [chooser] = [s for s in at.selectbox if s.label == "Wave"]
    assert chooser.options == ["Six months on (draft, 2025-01-01 to 2025-03-31)"]
    table = at.dataframe[0].value
    assert list(table["programme"]) == ["DA-101", TOTAL]
    assert "UX-201" not in at.dataframe[0].value.to_string()
    assert at.metric[0].value == "50.0%"  # 2 of DA-101's 4
    assert "Your programmes only." in [c.value for c in at.caption]


def test_a_link_reissued_from_the_monitor_is_shown_once_and_audited(
    app_engine: Engine, monitored: dict[str, int]
) -> None:
    at = _open(app_engine, monitored["manager"])
    at.text_input(key="monitor_find").input("G2@example.org").run()
    assert not at.exception, at.exception
    [chooser] = [s for s in at.selectbox if s.label == "Invitation"]
    assert chooser.options == ["g2@example.org · DA-101 · sent"]
    [button] = [b for b in at.button if b.label == "Reissue link"]
    button.click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.warning[0].value.startswith("The old link no longer works.")
    [link] = at.code
    assert link.value.startswith(get_settings().public_base_url)
    token = link.value.rstrip("/").rsplit("/", 1)[-1]
    with session_scope(app_engine) as session:
        invitation = session.get(Invitation, monitored["invitation2"])
        assert invitation is not None
        assert invitation.token_hash == token_hash(get_settings(), token)
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "invitation.reissued")
        ).all()
        assert event.actor == f"staff:{monitored['manager']}"
        assert event.object_id == str(monitored["invitation2"])
    at.run()
    assert not at.code, "the new link is shown once"


def test_a_manager_cannot_find_a_graduate_of_another_programme(
    app_engine: Engine, monitored: dict[str, int]
) -> None:
    at = _open(app_engine, monitored["manager"])
    at.text_input(key="monitor_find").input("g4@example.org").run()  # UX-201
    assert [w.value for w in at.warning] == [
        "No graduate of this wave in your programmes has that ref or e-mail."
    ]
    assert not [b for b in at.button if b.label == "Reissue link"]


def test_with_no_wave_the_monitor_says_so(app_engine: Engine) -> None:
    with session_scope(app_engine) as session:
        admin = factories.staff_user(session, "admin@example.org")
        factories.second_factor(session, admin)
    at = _open(app_engine, admin)
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["No survey wave to monitor yet."]
    assert not at.metric and not at.dataframe
