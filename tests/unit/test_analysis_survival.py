"""Time to first job: Kaplan–Meier against a hand computation, Cox against published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats

from outcomes.analysis.survival import cox_model, kaplan_meier
from outcomes.errors import AnalysisRefused

TINY = pd.DataFrame({"months": [1, 2, 2, 3, 4, 5], "found_job": [1, 1, 0, 1, 0, 1]})


def test_kaplan_meier_matches_a_hand_computed_product_limit():
    curve = kaplan_meier(TINY, "months", "found_job").curves[0]
    # Hand: t=1 5/6; t=2 (5 at risk, the tie censored at 2 still at risk) x 4/5;
    # t=3 (3 at risk) x 2/3; t=5 (1 at risk) x 0.
    assert_allclose(curve.times, [1, 2, 3, 5])
    assert_allclose(curve.survival, [5 / 6, 4 / 6, 4 / 9, 0])
    assert_allclose(curve.at_risk, [6, 5, 3, 1])
    assert curve.median == 3
    # Greenwood at t=1: S sqrt(d / (n (n - d))); log-log interval S^exp(-+z se/(S |log S|)).
    s, se = 5 / 6, 5 / 6 * np.sqrt(1 / 30)
    z = stats.norm.ppf(0.975)
    scale = se / (s * abs(np.log(s)))
    assert_allclose(
        [curve.lower[0], curve.upper[0]], [s ** np.exp(z * scale), s ** np.exp(-z * scale)]
    )
    assert curve.lower[0] < s < curve.upper[0]


def test_the_chart_frame_starts_at_time_zero_and_shows_employment_probability():
    frame = kaplan_meier(TINY.assign(holder=[1, 0, 1, 0, 1, 0]), "months", "found_job", "holder")
    chart = frame.to_frame()
    assert set(chart["group"]) == {0, 1}
    first = chart.groupby("group").head(1)
    assert (first["time"] == 0).all() and (first["survival"] == 1).all()
    assert_allclose(chart["employed"], 1 - chart["survival"])
    assert (chart["employed_lower"] <= chart["employed"] + 1e-12).all()
    assert frame.logrank_p_value is not None


def simulate_job_search(n: int, seed: int, hazard_ratio: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    holder = rng.binomial(1, 0.5, n)
    age = rng.normal(0, 1, n)
    rate = 0.15 * np.exp(np.log(hazard_ratio) * holder + 0.2 * age)
    time = rng.exponential(1 / rate)
    follow_up = rng.uniform(6, 24, n)  # administrative censoring
    return pd.DataFrame(
        {
            "months": np.minimum(time, follow_up),
            "found_job": (time <= follow_up).astype(int),
            "holder": holder,
            "age": age,
            "programme": rng.choice(["data", "nursing", "welding"], n),
        }
    )


# Gehan (1965), Biometrika 52:203, remission times in weeks of 42 leukaemia patients
# (Freireich et al. 1963); "+" marks a censored time.
GEHAN_6MP = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+"
GEHAN_PLACEBO = "1 1 2 2 3 4 4 5 5 8 8 8 8 11 11 12 12 15 17 22 23"


def gehan() -> pd.DataFrame:
    rows = [
        (int(value.rstrip("+")), int(not value.endswith("+")), placebo)
        for placebo, times in ((0, GEHAN_6MP), (1, GEHAN_PLACEBO))
        for value in times.split()
    ]
    return pd.DataFrame(rows, columns=["weeks", "relapsed", "placebo"])


def efron_log_partial_likelihood(beta: float, frame: pd.DataFrame) -> float:
    """Cox's partial likelihood with Efron's tie correction, one covariate, written out:
    sum over event times of [sum_D beta x - sum_{k<d} log(sum_R e^{beta x} - k/d sum_D e^{beta x})].
    """
    total = 0.0
    risk = np.exp(beta * frame["placebo"].to_numpy(dtype=float))
    weeks = frame["weeks"].to_numpy()
    events = frame["relapsed"].to_numpy() == 1
    for time in np.unique(weeks[events]):
        dying = events & (weeks == time)
        d = int(dying.sum())
        at_risk = risk[weeks >= time].sum()
        total += np.log(risk[dying]).sum()
        total -= sum(np.log(at_risk - k / d * risk[dying].sum()) for k in range(d))
    return total


def test_cox_reproduces_a_hand_computed_and_published_fit_of_the_gehan_trial():
    frame = gehan()
    (row,) = cox_model(frame, "weeks", "relapsed", "placebo").hazard_ratios
    assert row.term == "placebo"
    # Hand computation: maximise the partial likelihood above; SE from its curvature.
    fit = optimize.minimize_scalar(lambda b: -efron_log_partial_likelihood(b, frame))
    h = 1e-4
    curvature = (
        efron_log_partial_likelihood(fit.x + h, frame)
        - 2 * efron_log_partial_likelihood(fit.x, frame)
        + efron_log_partial_likelihood(fit.x - h, frame)
    ) / h**2
    se = 1 / np.sqrt(-curvature)
    z = stats.norm.ppf(0.975)
    assert np.log(row.hazard_ratio) == pytest.approx(fit.x, abs=1e-5)
    assert_allclose([row.ci_low, row.ci_high], np.exp(fit.x + np.array([-z, z]) * se), rtol=1e-4)
    assert row.p_value == pytest.approx(2 * stats.norm.sf(fit.x / se), rel=1e-3)
    # Published: R survival::coxph(Surv(time, cens) ~ treat, data = MASS::gehan), Efron
    # ties, prints coef 1.572, se(coef) 0.412, exp(coef) 4.817 (95 % CI 2.147 to 10.81).
    assert (fit.x, se) == (pytest.approx(1.572, abs=5e-4), pytest.approx(0.412, abs=5e-4))
    assert row.hazard_ratio == pytest.approx(4.817, abs=5e-4)


def test_cox_recovers_a_planted_hazard_ratio_next_to_covariates():
    frame = simulate_job_search(3000, seed=4, hazard_ratio=1.5)
    result = cox_model(frame, "months", "found_job", "holder", ["age", "programme"])
    table = result.to_frame().set_index("term")
    assert list(table.index) == ["holder", "age", "programme=nursing", "programme=welding"]
    # Planted: hazard ratio 1.5 for holders, exp(0.2) per SD of age, none for programme.
    assert table.loc["holder", "ci_low"] < 1.5 < table.loc["holder", "ci_high"]
    assert table.loc["age", "ci_low"] < np.exp(0.2) < table.loc["age", "ci_high"]
    for term in ("programme=nursing", "programme=welding"):
        assert table.loc[term, "ci_low"] < 1 < table.loc[term, "ci_high"]
    assert table.loc["holder", "p_value"] < 1e-6


def test_median_time_to_first_job_has_an_interval_and_holders_find_jobs_sooner():
    frame = simulate_job_search(2000, seed=5, hazard_ratio=1.5)
    result = kaplan_meier(frame, "months", "found_job", "holder")
    comparison, holders = result.curves
    for curve in result.curves:
        assert curve.median_low <= curve.median <= curve.median_high
    # Exponential with rate 0.15 x 1.5 has median log 2 / 0.225 = 3.08 months.
    assert holders.median_low <= np.log(2) / 0.225 <= holders.median_high
    assert holders.median < comparison.median
    assert result.logrank_p_value < 0.001


def test_survival_refuses_data_without_events():
    frame = TINY.assign(found_job=0)
    with pytest.raises(AnalysisRefused, match="no events"):
        kaplan_meier(frame, "months", "found_job")


def test_cox_refuses_a_group_in_which_nobody_found_a_job():
    frame = simulate_job_search(300, seed=1, hazard_ratio=1.0)
    frame.loc[frame["holder"] == 1, "found_job"] = 0
    with pytest.raises(AnalysisRefused, match="'holder' = 1"):
        cox_model(frame, "months", "found_job", "holder")


def test_survival_refuses_missing_durations_instead_of_dropping_them():
    frame = TINY.astype(float)
    frame.loc[0, "months"] = np.nan
    with pytest.raises(AnalysisRefused, match="1 rows have a missing value"):
        kaplan_meier(frame, "months", "found_job")
