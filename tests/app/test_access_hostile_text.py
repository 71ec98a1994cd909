"""Hostile text is rendered inert: in text or dataframe elements, never as Markdown or HTML."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import create_staff_user
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import LearnerIdentity, Response
from tests import factories
from tests.conftest import REPO_ROOT

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](http://evil)",
    "'; DROP TABLE learner; --",
]


@pytest.fixture
def hostile(app_engine: Engine, request: pytest.FixtureRequest) -> tuple[int, str]:
    payload = request.param
    with session_scope(app_engine) as session:
        admin = create_staff_user(
            session,
            email="admin@example.org",
            role="admin",
            password=None,
            actor="test",
            display_name=payload,
        )
        who = factories.learner(session, email="ana@example.org")
        identity = session.get(LearnerIdentity, who.id)
        assert identity is not None
        identity.given_name = payload
        session.add(identity)
        enrolment = factories.completed_enrolment(session, who, factories.programme(session))
        invitation = factories.invitation(session, factories.wave(session), enrolment)
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=1,
                answers={"comments": payload},
            )
        )
    assert admin.id is not None
    return admin.id, payload


def _as_admin(admin_id: int, page: str) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / page), default_timeout=30)
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        at.session_state["staff"] = factories.signed_in(session, admin_id, via="sso")
    engine.dispose()
    return at.run()


def _assert_inert(at: AppTest, payload: str) -> None:
    assert not at.exception
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "success", "error"):
        for element in getattr(at, kind):
            assert payload not in str(element.value), (kind, element.value)
    shown = "".join(df.value.to_csv() for df in at.dataframe)
    assert payload in shown  # it is shown, as data


@pytest.mark.parametrize("hostile", PAYLOADS, indirect=True)
def test_staff_display_names_are_shown_as_data(hostile: tuple[int, str]) -> None:
    admin_id, payload = hostile
    _assert_inert(_as_admin(admin_id, "pages/users.py"), payload)


@pytest.mark.parametrize("hostile", PAYLOADS, indirect=True)
def test_learner_names_and_answers_are_shown_as_data(hostile: tuple[int, str]) -> None:
    admin_id, payload = hostile
    at = _as_admin(admin_id, "pages/privacy.py")
    at.text_input[0].input("ana@example.org")
    at.button[0].click().run()
    _assert_inert(at, payload)
    shown = "".join(df.value.to_csv() for df in at.dataframe)
    assert shown.count(payload) >= 2  # the name and the answer
