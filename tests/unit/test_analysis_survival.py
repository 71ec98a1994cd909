"""Time to first job: Kaplan–Meier against a hand computation, Cox against PHReg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

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


def test_cox_hazard_ratios_equal_phreg_and_recover_a_planted_ratio():
    frame = simulate_job_search(3000, seed=4, hazard_ratio=1.5)
    result = cox_model(frame, "months", "found_job", "holder", ["age", "programme"])
    reference = PHReg(
        frame["months"].to_numpy(),
        np.column_stack(
            [
                frame["holder"],
                frame["age"],
                frame["programme"] == "nursing",
                frame["programme"] == "welding",
            ]
        ).astype(float),
        status=frame["found_job"].to_numpy(),
        ties="efron",
    ).fit()
    table = result.to_frame().set_index("term")
    assert list(table.index) == ["holder", "age", "programme=nursing", "programme=welding"]
    assert_allclose(table["hazard_ratio"], np.exp(reference.params), rtol=1e-8)
    assert_allclose(table["p_value"], reference.pvalues, rtol=1e-8)
    assert table.loc["holder", "ci_low"] < 1.5 < table.loc["holder", "ci_high"]
    assert table.loc["programme=welding", "ci_low"] < 1 < table.loc["programme=welding", "ci_high"]


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
