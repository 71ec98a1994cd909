"""The access matrix: every page × every audience is either shown in full or refused plainly.

Each page is checked twice: through ``app.py`` (the navigation registers only the pages a
role may open) and by running the page file on its own, as a typed URL would (the page's
own guard refuses it, and nothing of the page is rendered).

Two audiences are staff who may open only "Your account" until they have done something
there: a user holding a temporary password, and an administrator without a second factor.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.permissions import PAGES, PageSpec
from outcomes.access.staff import create_staff_user, programme_scope
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.web.context import MUST_CHANGE_PASSWORD, MUST_ENROL
from tests import factories
from tests.conftest import REPO_ROOT, SharedDatabase, read_only_database

APP = str(REPO_ROOT / "app.py")
PASSWORD = "purple lantern over the harbour"

# audience name → (role stored in the session, user e-mail); None: no staff session.
AUDIENCES: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "reviewer": ("reviewer", "reviewer@example.org"),
    "manager": ("manager", "manager@example.org"),
    "scoped_manager": ("manager", "scoped@example.org"),
    "admin": ("admin", "admin@example.org"),  # with a TOTP second factor
    "temporary_password": ("manager", "newcomer@example.org"),
    "admin_without_second_factor": ("admin", "admin2@example.org"),
}
# Which pages each audience may open (written out, not derived from access.PAGES).
ALLOWED = {
    "anonymous": {"signin"},
    "reviewer": {"home", "dashboard", "audit", "account"},
    "manager": {
        "home",
        "dashboard",
        "programmes",
        "waves",
        "monitor",
        "sources",
        "outbox",
        "imports",
        "account",
    },
    "scoped_manager": {
        "home",
        "dashboard",
        "programmes",
        "waves",
        "monitor",
        "sources",
        "outbox",
        "imports",
        "account",
    },
    "admin": {
        "home",
        "dashboard",
        "programmes",
        "waves",
        "monitor",
        "sources",
        "outbox",
        "imports",
        "users",
        "audit",
        "privacy",
        "account",
    },
    "temporary_password": {"account"},
    "admin_without_second_factor": {"account"},
}


def _build_institution(engine: Engine) -> dict[str, int]:
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        factories.programme(session, "DA-101")
        ids["programme"] = factories.programme(session, "UX-201").id or 0
        for name, who in AUDIENCES.items():
            if who is None:
                continue
            role, email = who
            user = create_staff_user(
                session,
                email=email,
                role=role,
                password=PASSWORD,
                actor="test",
                programme_codes=["UX-201"] if name == "scoped_manager" else None,
                all_programmes=name != "scoped_manager",
                must_change_password=name == "temporary_password",
            )
            ids[name] = user.id or 0
            if name == "admin":
                factories.second_factor(session, ids[name])
    return ids


shared_institution = read_only_database("access-matrix", _build_institution)


@pytest.fixture
def institution(shared_institution: SharedDatabase[dict[str, int]]) -> dict[str, int]:
    """The audiences' accounts, in a database shared by the tests that only read it."""
    return shared_institution.built


@pytest.fixture
def own_institution(app_engine: Engine) -> dict[str, int]:
    """The audiences' accounts, in a database of this test's own (for tests that change it)."""
    return _build_institution(app_engine)


def _state(audience: str, ids: dict[str, int]) -> dict[str, Any]:
    who = AUDIENCES[audience]
    if who is None:
        return {}
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        staff = factories.signed_in(session, ids[audience])
    engine.dispose()
    return {"staff": staff}


def _run(path: str, state: dict[str, Any]) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _sees_the_page(at: AppTest, spec: PageSpec) -> None:
    """The characteristic content of each page is there."""
    if spec.key == "signin":
        assert [t.label for t in at.text_input] == ["Email", "Password"]
    elif spec.key == "home":
        assert len(at.metric) == 8
    elif spec.key in ("programmes", "users", "audit"):
        assert len(at.dataframe) >= 1
    elif spec.key == "waves":
        assert "Programmes" in [m.label for m in at.multiselect]
    elif spec.key == "outbox":  # not demo mode here: the page says what it is for
        assert at.info[0].value.startswith("This page is for demo mode")
    elif spec.key == "privacy":
        assert at.text_input[0].label.startswith("Learner ref")
    elif spec.key == "monitor":
        assert at.title[0].value == "Fieldwork monitor"
    elif spec.key == "sources":
        assert at.title[0].value == "Other outcome sources"
        assert at.text_input[0].label.startswith("Learner ref")
    elif spec.key == "imports":
        assert at.title[0].value == "Import records"
    elif spec.key == "account":
        assert at.title[0].value == "Your account"
        assert "New password" in [t.label for t in at.text_input]
    assert not at.error, [e.value for e in at.error]


def _only_a_refusal(at: AppTest, spec: PageSpec) -> None:
    assert [e.value for e in at.error] == [f"You do not have access to {spec.title}."]
    assert len(at.main.children) == 1  # the refusal and nothing else
    for kind in ("title", "dataframe", "text_input", "button", "metric", "markdown"):
        assert len(getattr(at, kind)) == 0, kind


@pytest.mark.parametrize("audience", list(AUDIENCES))
@pytest.mark.parametrize("spec", PAGES, ids=[p.key for p in PAGES])
def test_each_page_is_shown_or_refused_for_each_audience(
    institution: dict[str, int], audience: str, spec: PageSpec
) -> None:
    state = _state(audience, institution)
    allowed = spec.key in ALLOWED[audience]

    direct = _run(str(REPO_ROOT / spec.path), state)
    assert not direct.exception, direct.exception
    if allowed:
        _sees_the_page(direct, spec)
        assert direct.title[0].value
    else:
        _only_a_refusal(direct, spec)

    through_app = _run(APP, state)
    if allowed:
        through_app.switch_page(spec.path)
        through_app.run()
        assert not through_app.exception
        _sees_the_page(through_app, spec)
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            through_app.switch_page(spec.path)


@pytest.mark.parametrize(
    ("audience", "reason"),
    [("temporary_password", MUST_CHANGE_PASSWORD), ("admin_without_second_factor", MUST_ENROL)],
)
def test_staff_with_account_setup_to_do_are_told_why_on_the_only_page_they_reach(
    institution: dict[str, int], audience: str, reason: str
) -> None:
    at = _run(APP, _state(audience, institution))
    assert at.title[0].value == "Your account"  # the default (and only) page
    assert [w.value for w in at.warning] == [reason]


def test_every_page_is_in_the_matrix() -> None:
    assert {p.key for p in PAGES} == set().union(*ALLOWED.values())


def test_a_scoped_manager_is_limited_to_their_programme(institution: dict[str, int]) -> None:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        assert programme_scope(session, institution["scoped_manager"]) == {institution["programme"]}
        assert programme_scope(session, institution["manager"]) is None
        assert programme_scope(session, institution["reviewer"]) is None
        assert programme_scope(session, institution["admin"]) is None
        assert programme_scope(session, 9999) == set()
    engine.dispose()


def test_a_role_changed_by_an_administrator_applies_on_the_next_rerun(
    own_institution: dict[str, int], app_engine: Engine
) -> None:
    from outcomes.access.staff import change_role

    at = _run(APP, _state("manager", own_institution))
    at.switch_page("pages/programmes.py")
    at.run()
    with session_scope(app_engine) as session:
        change_role(session, user_id=own_institution["manager"], role="reviewer", actor="test")
    at.run()
    assert at.session_state["staff"].role == "reviewer"
    assert [e.value for e in at.error] == ["You do not have access to Programmes."]


def test_a_manager_limited_to_one_programme_sees_only_it_on_the_programmes_page(
    institution: dict[str, int],
) -> None:
    page_path = str(REPO_ROOT / "pages" / "programmes.py")
    scoped = _run(page_path, _state("scoped_manager", institution))
    assert list(scoped.dataframe[0].value["code"]) == ["UX-201"]
    unscoped = _run(page_path, _state("manager", institution))
    assert list(unscoped.dataframe[0].value["code"]) == ["DA-101", "UX-201"]
