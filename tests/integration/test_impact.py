"""Impact on the demo institution: the database's counts agree with the analysis layer, and
the adjusted comparison recovers the effects the generator planted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from outcomes.analysis.compare import compare_groups
from outcomes.analysis.metrics import metrics_panel
from outcomes.config import get_settings
from outcomes.demo import generate_demo
from outcomes.demo.spec import InstitutionSpec, load_institution
from outcomes.impact.service import (
    DEFAULT_COVARIATES,
    OUTCOMES,
    comparison_from_database,
    metrics_from_database,
    prepare_comparison_frame,
)
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.frames import analysis_frame
from outcomes.store.migrate import upgrade
from tests.conftest import PG_URL, _postgres_schema_url

SETTINGS = get_settings({})


def test_metrics_counted_in_the_database_equal_the_analysis_layer(engine: sa.Engine) -> None:
    generate_demo(engine, learners=600, seed=11)
    with session_scope(engine) as session:
        from_db = metrics_from_database(
            session, SETTINGS, group_by=("programme", "cohort"), wave_months=6, treated=True
        ).to_frame()
        frame = analysis_frame(session=session, wave_months=6, treated=True)
    in_python = metrics_panel(
        frame,
        ["programme", "cohort"],
        fulltime_hours=SETTINGS.fulltime_hours,
        salary_top_quantile=SETTINGS.salary_top_quantile,
        salary_floor=SETTINGS.salary_floor,
    ).to_frame()
    keys = ["programme", "cohort", "metric"]
    left = from_db.sort_values(keys).reset_index(drop=True)
    right = in_python.sort_values(keys).reset_index(drop=True)
    assert len(left) == len(right) > 0
    for column in ("numerator", "denominator", "n", "estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            left[column].to_numpy(float), right[column].to_numpy(float), rtol=1e-9, equal_nan=True
        )


# --- planted effects against the answer key ------------------------------------------------
#
# The adjusted comparison assumes that, given the baseline covariates, who is analysed does
# not depend on the outcome. The shipped demo breaks that on purpose (employed graduates
# answer more often, employers report only the employed), which biases every respondent-based
# estimate by an amount the answer key does not hold. These tests therefore run on the demo
# institution with that one part changed: answering depends only on being a holder, and
# other sources do not depend on employment. Four programmes with large, middling and no
# effect keep each programme's sample as large as the full demo's at a fraction of its size.

PLANTED_PROGRAMMES = ("MC-DATA", "MC-CYBER", "MC-CLOUD", "MC-TEACHONLINE")
PLANTED_LEARNERS = 8_000
# Hours of the self-employed, uniform on whole hours 15-50 (outcomes.demo.outcomes_model.draw_wave).
SELF_EMPLOYED_HOURS = range(15, 51)


def ignorable_nonresponse_institution() -> InstitutionSpec:
    """The demo institution, whose non-response and other sources ignore the outcome."""
    spec = load_institution()
    planted = spec.planted
    response = planted.response.model_copy(
        update={
            "employed": 0.0,
            "per_decade_of_age": 0.0,
            "intercept_by_months": dict.fromkeys(planted.response.intercept_by_months, 2.5),
            "opt_out_share": 0.0,
        }
    )
    others = planted.other_sources
    other_sources = others.model_copy(
        update={"employer": 0.0, "public_profile_employed": others.public_profile_not_employed}
    )
    return spec.model_copy(
        update={
            "programmes": [p for p in spec.programmes if p.code in PLANTED_PROGRAMMES],
            "planted": planted.model_copy(
                update={"response": response, "other_sources": other_sources}
            ),
        }
    )


@dataclass(frozen=True)
class PlantedDemo:
    engine: sa.Engine
    spec: InstitutionSpec
    answer_key: dict[str, Any]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def planted_demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlantedDemo]:
    """One seeded demo database per engine, shared by the module's read-only tests."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('planted')}/outcomes.db"])
    elif PG_URL:
        urls = _postgres_schema_url(PG_URL)
    else:
        pytest.skip("OUTCOMES_TEST_DATABASE_URL is not set, so PostgreSQL is not tested here")
    url = next(urls)
    engine = make_engine(url)
    upgrade(engine)
    spec = ignorable_nonresponse_institution()
    summary = generate_demo(engine, learners=PLANTED_LEARNERS, seed=20260601, spec=spec)
    yield PlantedDemo(engine, spec, summary.answer_key)
    engine.dispose()
    next(urls, None)  # drops the PostgreSQL schema


def measured_truth(entry: dict[str, Any], outcome: str, spec: InstitutionSpec) -> float:
    """The true ATT of an analysed outcome, from the answer key's entry for a population.

    The answer key holds the ATT of the planted full-time draw, mean(P1 - P0) over holders.
    When that draw says "not full-time", the activity is drawn from ``other_activities``
    whatever the treatment; so an outcome that also counts some of those activities (share
    c) has the ATT mean(P1 - P0) * (1 - c). ``employed_full_time`` counts the self-employed
    working at least ``fulltime_hours``; ``employed`` counts part-time and self-employed.
    Log salary is drawn independently of who works, so comparing the full-time employed
    does not select on it: its ATT is the answer key's.
    """
    if outcome == "log_salary":
        return float(entry["log_salary"])
    shares = spec.planted.employment.other_activities
    total = sum(shares.values())
    if outcome == "employed_full_time":
        long_hours = sum(h >= SETTINGS.fulltime_hours for h in SELF_EMPLOYED_HOURS)
        counted = shares["self_employed"] / total * long_hours / len(SELF_EMPLOYED_HOURS)
    else:
        counted = (shares["employed_part_time"] + shares["self_employed"]) / total
    return float(entry["fulltime_expected"]) * (1 - counted)


# Each programme and outcome (12 checks per engine) must land within 3.5 SE of its truth: a
# correct estimator misses one of the twelve with probability about 12 x 0.05 % = 0.6 %. Its
# SE may be at most 1.5 times the naive difference's, so a vague answer cannot meet the bound.
BOUND_IN_SE = 3.5


@pytest.mark.slow
@pytest.mark.parametrize("outcome", list(OUTCOMES))
@pytest.mark.parametrize("programme", PLANTED_PROGRAMMES)
def test_the_adjusted_att_of_each_programme_lands_on_the_planted_truth(
    planted_demo: PlantedDemo, programme: str, outcome: str
) -> None:
    entry = planted_demo.answer_key["att"]["by_programme"][programme]["6m"]
    truth = measured_truth(entry, outcome, planted_demo.spec)
    with session_scope(planted_demo.engine) as session:
        adjusted = comparison_from_database(
            session, SETTINGS, programme=programme, wave_months=6, outcome=outcome
        )
        naive = comparison_from_database(
            session, SETTINGS, programme=programme, wave_months=6, outcome=outcome,
            method="naive",
        )  # fmt: skip
    assert (adjusted.method, adjusted.estimand) == ("aipw", "att")
    miss = abs(adjusted.estimate - truth) / adjusted.std_error
    assert miss <= BOUND_IN_SE, (programme, outcome, truth, adjusted.estimate, adjusted.std_error)
    assert adjusted.std_error <= 1.5 * naive.std_error


@pytest.mark.slow
@pytest.mark.parametrize(
    ("outcome", "naive_overstates"),
    # Completion and employment share prior education, baseline employment and age; salary
    # shares only prior education and age, too little selection to show at this size.
    [("employed_full_time", True), ("employed", True), ("log_salary", False)],
)
def test_pooled_over_programmes_adjustment_removes_the_selection_the_naive_difference_shows(
    planted_demo: PlantedDemo, outcome: str, naive_overstates: bool
) -> None:
    truth = measured_truth(
        planted_demo.answer_key["att"]["overall"]["6m"], outcome, planted_demo.spec
    )
    with session_scope(planted_demo.engine) as session:
        frame = analysis_frame(session=session, wave_months=6)
    prepared = prepare_comparison_frame(frame, outcome=outcome, fulltime_hours=30)
    covariates = [*DEFAULT_COVARIATES, "programme"]
    if prepared["baseline_pay_missing"].nunique() > 1:
        covariates.append("baseline_pay_missing")
    naive = compare_groups(prepared, outcome=outcome, treatment="treated", method="naive")
    adjusted = compare_groups(prepared, outcome=outcome, treatment="treated", covariates=covariates)
    # Bounds: the adjusted estimate is within 3 SE of the truth; for employment the naive
    # difference overstates it by more than 3 of its SEs (the planted selection on observables).
    if naive_overstates:
        assert naive.estimate - truth > 3 * naive.std_error, (truth, naive)
    assert abs(adjusted.estimate - truth) <= 3 * adjusted.std_error, (truth, adjusted.estimate)
    assert adjusted.std_error <= 1.5 * naive.std_error
    worst = max(abs(row.smd_after) for row in adjusted.balance)
    assert worst < 0.1, pd.DataFrame([r.to_dict() for r in adjusted.balance])


def test_raked_respondents_reproduce_the_invited_population_margins(engine: sa.Engine) -> None:
    from outcomes.impact.service import RAKING_MARGINS, nonresponse_report, programme_differences

    generate_demo(engine, learners=1500, seed=3)
    with session_scope(engine) as session:
        report = nonresponse_report(session, SETTINGS, wave_months=6)
        population = analysis_frame(session=session, wave_months=6, treated=True)
        invited = population[population["invited"]]
        pairs = programme_differences(session, SETTINGS, wave_months=6, correction="bh")
    assert report.raking.converged
    assert report.attrition.n_respondents == int(invited["responded"].sum())
    assert report.attrition.n_respondents + report.attrition.n_non_respondents == len(invited)
    weights = report.raking.weights
    assert weights.sum() == pytest.approx(len(invited), rel=1e-6)
    assert report.margins == RAKING_MARGINS
    by_programme = report.rates.set_index("programme")
    assert (by_programme["design_effect"] >= 1).all()
    assert (by_programme["effective_n"] <= by_programme["n"] + 1e-9).all()
    assert pairs.correction == "Benjamini–Hochberg"
    assert (pairs.to_frame()["p_adjusted"] >= pairs.to_frame()["p_value"] - 1e-12).all()
