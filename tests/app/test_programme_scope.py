"""A manager assigned to no programme reads one sentence on every page, and no data."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import NO_PROGRAMMES, create_staff_user, programme_scope, user_by_email
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from tests import factories
from tests.conftest import REPO_ROOT


@pytest.fixture
def unassigned_manager(app_engine: Engine) -> int:
    engine = app_engine
    with session_scope(engine) as session:
        programme = factories.programme(session, "DA-101")
        factories.credential(
            session, factories.completed_enrolment(session, factories.learner(session), programme)
        )
        user = create_staff_user(
            session,
            email="new.manager@example.org",
            role="manager",
            password=None,
            actor="test",
        )
        user_id = user.id or 0
    engine.dispose()
    return user_id


@pytest.mark.parametrize("page", ["home", "dashboard", "programmes", "waves", "monitor", "sources"])
def test_a_manager_without_programmes_is_told_to_ask_an_administrator(
    unassigned_manager: int, page: str
) -> None:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        staff = factories.signed_in(session, unassigned_manager)
    engine.dispose()
    at = AppTest.from_file(str(REPO_ROOT / "pages" / f"{page}.py"), default_timeout=30)
    at.session_state["staff"] = staff
    at.run()
    assert not at.exception, at.exception
    shown = [block.value for block in (*at.error, *at.warning, *at.info)]
    assert shown == [NO_PROGRAMMES]
    assert NO_PROGRAMMES == "You are not assigned to any programme; ask an administrator."
    assert not at.metric and not at.dataframe, "no institution data is shown"
    assert not at.selectbox and not at.tabs


def test_an_administrator_gives_a_new_manager_all_programmes_then_names_one(
    unassigned_manager: int,
) -> None:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        admin = create_staff_user(
            session, email="admin@example.org", role="admin", password=None, actor="test"
        )
        factories.second_factor(session, admin.id or 0)
        staff = factories.signed_in(session, admin.id or 0)
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "users.py"), default_timeout=30)
    at.session_state["staff"] = staff
    at.run()
    table = at.dataframe[0].value.set_index("email")
    assert table.loc["new.manager@example.org", "programmes"] == "none"
    [email] = [t for t in at.text_input if t.label == "Email of the new user"]
    email.input("all.manager@example.org")
    at.selectbox[0].select("manager")
    [every] = [c for c in at.checkbox if c.label.startswith("All programmes (")]
    every.check()
    [add] = [b for b in at.button if b.label == "Add user"]
    add.click().run()
    assert not at.error, [e.value for e in at.error]
    with session_scope(engine) as session:
        added = user_by_email(session, "all.manager@example.org").id or 0
        assert programme_scope(session, added) is None
    at.run()  # the table of users is read before the form adds one
    [user] = [s for s in at.selectbox if s.label == "User"]
    user.select(added)
    at.multiselect(key="scope").select("DA-101")
    [save] = [b for b in at.button if b.label == "Save programmes"]
    save.click().run()
    assert not at.error, [e.value for e in at.error]
    with session_scope(engine) as session:
        assert len(programme_scope(session, added) or ()) == 1
    engine.dispose()
