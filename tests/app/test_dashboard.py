"""The impact dashboard tells each role what it may know about the demo institution."""

from __future__ import annotations

import numpy as np
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import create_staff_user
from outcomes.demo import generate_demo
from outcomes.store.engine import session_scope
from tests import factories
from tests.conftest import REPO_ROOT, SharedDatabase, read_only_database

PAGE = str(REPO_ROOT / "pages" / "dashboard.py")
PASSWORD = "purple lantern over the harbour"


def _build_demo(engine: Engine) -> dict[str, int]:
    generate_demo(engine, learners=3000, seed=5)
    ids = {}
    with session_scope(engine) as session:
        for name, role, scope in (
            ("manager", "manager", None),
            ("scoped", "manager", ["MC-CYBER"]),
            ("reviewer", "reviewer", None),
        ):
            user = create_staff_user(
                session,
                email=f"{name}@example.org",
                role=role,
                password=PASSWORD,
                actor="test",
                programme_codes=scope,
                all_programmes=scope is None,
                must_change_password=False,
            )
            ids[name] = user.id or 0
    return ids


# A demo institution of 3,000 learners with three more staff.
demo_database = read_only_database("dashboard-demo", _build_demo)


def open_dashboard(database: SharedDatabase[dict[str, int]], who: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    with session_scope(database.engine) as session:
        at.session_state["staff"] = factories.signed_in(session, database.built[who])
    return at.run()


def test_a_manager_reads_the_impact_of_a_programme_in_one_sentence(
    demo_database: SharedDatabase[dict[str, int]],
) -> None:
    at = open_dashboard(demo_database, "manager")
    assert not at.exception, at.exception
    headline = at.subheader[0].value
    assert headline.startswith("Holders of MC-AUTOM were")
    assert "than comparable non-completers (95% CI" in headline
    assert "AIPW, ATT" in headline
    programmes = at.selectbox(key="dashboard_programme").options
    assert len(programmes) == 11
    table = at.dataframe[0].value
    assert set(table["metric"]) >= {"response_rate", "fulltime_employment_rate", "salary_p50"}
    assert table["ci_low"].le(table["estimate"]).all()
    assert any("Propensity scores range" in block.value for block in at.markdown)
    frames = [frame.value for frame in at.dataframe]
    rates = next(f for f in frames if "weighted" in f.columns)
    assert {"unweighted", "weighted", "design_effect", "effective_n"} <= set(rates.columns)
    assert any("std_difference" in f.columns for f in frames), "the attrition table is shown"
    pairs = next(f for f in frames if "p_adjusted" in f.columns)
    assert len(pairs) == 11 * 10 // 2
    assert any("Holm" in caption.value for caption in at.caption)


def test_a_manager_limited_to_one_programme_sees_only_that_programme(
    demo_database: SharedDatabase[dict[str, int]],
) -> None:
    at = open_dashboard(demo_database, "scoped")
    assert not at.exception, at.exception
    assert at.selectbox(key="dashboard_programme").options == ["MC-CYBER"]
    assert set(at.dataframe[0].value["programme"]) == {"MC-CYBER"}
    assert at.subheader[0].value.startswith("Holders of MC-CYBER were")


def test_a_reviewer_sees_only_suppressed_aggregates(
    demo_database: SharedDatabase[dict[str, int]],
) -> None:
    at = open_dashboard(demo_database, "reviewer")
    assert not at.exception, at.exception
    statement = at.info[0].value
    assert "rounded" in statement.lower()
    table = at.dataframe[0].value
    for column in ("numerator", "denominator", "n", "rate_base", "average_n"):
        published = table[column].dropna().to_numpy(dtype=float)
        assert np.all(published % 5 == 0), column
    shown_rates = table[table["rate_estimate"].notna()]
    # A base of 22.5 or more rounds to 25 or more; 20 would mean a raw base of 18-22.
    assert (shown_rates["rate_base"] >= 25).all(), "no rate is published on a base under 22.5"
    assert "(rounded)" in at.subheader[0].value, "the comparison's group sizes are rounded"
    frames = [frame.value for frame in at.dataframe]
    trend = next(f for f in frames if "rate" in f.columns and "cohort" in f.columns)
    assert np.all(trend["n"].dropna().to_numpy(dtype=float) % 5 == 0)
    frames = [frame.value for frame in at.dataframe]
    rates = next(f for f in frames if "weighted" in f.columns)
    assert np.all(rates["n"].dropna().to_numpy(dtype=float) % 5 == 0)
    attrition = next(f for f in frames if "std_difference" in f.columns)
    for column in ("respondents_n", "non_respondents_n", "respondents_base"):
        assert np.all(attrition[column].dropna().to_numpy(dtype=float) % 5 == 0), column
    shown_averages = table[table["average_estimate"].notna()]
    assert (shown_averages["average_n"] >= 10).all(), "no average is published on n <= 7"
