"""The app and every page run without an exception for each audience that may open them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.permissions import PAGES, STAFF_ROLES
from outcomes.access.sessions import StaffSession
from outcomes.access.staff import create_staff_user
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from tests import factories
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")


@pytest.fixture
def migrated(app_engine: Engine) -> Engine:
    with session_scope(app_engine) as session:
        for role in STAFF_ROLES:
            user = create_staff_user(
                session,
                email=f"{role}@example.org",
                role=role,
                password="purple lantern over the harbour",
                actor="test",
                all_programmes=True,
                must_change_password=False,
            )
            if role == "admin":
                factories.second_factor(session, user.id or 0)
    return app_engine


def signed_in(role: str) -> StaffSession:
    """A fresh staff session for the user created above with ``role``."""
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        staff = factories.signed_in(session, STAFF_ROLES.index(role) + 1)
    engine.dispose()
    return staff


def run_app(viewer: StaffSession | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if viewer is not None:
        at.session_state["staff"] = viewer
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def test_an_anonymous_visitor_sees_the_staff_sign_in(migrated: Engine) -> None:
    at = run_app()
    assert not at.exception
    assert [field.label for field in at.text_input] == ["Email", "Password"]
    assert at.button[0].label == "Sign in"


def test_a_staff_member_signs_in_with_email_and_password(migrated: Engine) -> None:
    at = run_app()
    at.text_input[0].input("manager@example.org")
    at.text_input[1].input("purple lantern over the harbour")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["staff"].role == "manager"


def test_a_wrong_password_is_refused_plainly(migrated: Engine) -> None:
    at = run_app()
    at.text_input[0].input("admin@example.org")
    at.text_input[1].input("not the right password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["The e-mail or password is not right."]
    assert "staff" not in at.session_state


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_page_a_role_may_open_runs_without_an_exception(migrated: Engine, role: str) -> None:
    viewer = signed_in(role)
    for spec in PAGES:
        if role not in spec.audiences:
            continue
        at = run_app(viewer, spec.path)
        assert not at.exception, (spec.key, at.exception)
        assert not at.error, (spec.key, [e.value for e in at.error])


def test_an_unmigrated_database_is_explained_not_a_traceback(
    outcomes_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", database_url)
    at = run_app()
    assert not at.exception
    assert "outcomes db upgrade" in at.error[0].value
