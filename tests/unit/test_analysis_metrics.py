"""Standard metrics: exact counts on a hand-built frame, references, planted effects."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from outcomes.analysis.metrics import (
    count_outcomes,
    eligible_salaries,
    metrics_from_counts,
    metrics_panel,
)


def hand_built_frame() -> pd.DataFrame:
    """Ten graduates with one of each situation; the expected counts are written out below."""
    rows = [
        # activity, hours, invited, responded, partial, known, salary, related, sat, nps
        ("employed_full_time", 40, True, True, False, True, 30_000, 5, 5, 10),
        ("employed_full_time", None, True, True, False, True, 50_000, 4, 4, 9),
        ("employed_part_time", 35, True, True, False, True, 20_000, 2, 3, 7),  # ≥30 h: full-time
        ("employed_part_time", 10, True, True, False, True, None, 1, 2, 3),
        ("self_employed", 20, True, False, True, True, None, None, None, None),
        ("continuing_education", None, True, True, False, True, None, None, 4, 8),
        ("seeking_employment", None, True, True, False, True, None, None, 1, 0),
        ("not_seeking", None, True, False, False, True, None, None, None, None),
        (None, None, True, False, False, False, None, None, None, None),
        (None, None, False, False, False, False, None, None, None, None),
    ]
    columns = ["activity", "hours_per_week", "invited", "responded", "partial", "known",
               "salary_annual", "job_related", "satisfaction", "nps"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["salary_excluded"] = False
    for item in ("voice_meaningful", "voice_future", "voice_skills"):
        frame[item] = frame["satisfaction"]
    frame["programme"] = "P1"
    return frame


@pytest.mark.parametrize(
    ("name", "numerator", "denominator"),
    [
        ("response_rate", 6, 9),
        ("partial_response_rate", 1, 9),
        ("knowledge_rate", 8, 10),
        # positive: FT, FT, PT, PT, self, continuing education = 6; seeking 1; not_seeking out
        ("career_outcomes_rate", 6, 7),
        # full-time by hours: rows 1, 3 (35 h) and row 2 (no hours, coded full-time) = 3
        ("fulltime_employment_rate", 3, 4),
        ("overall_employment_rate", 5, 6),
        ("further_study_rate", 1, 8),
        ("relatedness_rate", 2, 4),
        ("satisfaction_agree", 3, 6),
        ("voice_skills_agree", 3, 6),
    ],
)
def test_each_rate_has_the_documented_numerator_and_denominator(name, numerator, denominator):
    metric = metrics_panel(hand_built_frame()).get(name)
    assert (metric.numerator, metric.denominator) == (numerator, denominator)
    assert metric.estimate == pytest.approx(numerator / denominator)
    # Reference: statsmodels proportion_confint(method="wilson").
    expected = proportion_confint(numerator, denominator, method="wilson")
    assert_allclose([metric.ci_low, metric.ci_high], expected, rtol=1e-10)
    assert metric.method == "Wilson score" and metric.definition


def test_satisfaction_mean_and_nps():
    panel = metrics_panel(hand_built_frame())
    mean = panel.get("satisfaction_mean")
    answers = np.array([5, 4, 3, 2, 4, 1], dtype=float)
    assert mean.estimate == pytest.approx(answers.mean())
    assert_allclose([mean.ci_low, mean.ci_high], DescrStatsW(answers).tconfint_mean(), rtol=1e-9)
    nps = panel.get("nps")  # scores 10, 9, 7, 3, 8, 0: 2 promoters, 2 detractors
    assert (nps.n, nps.estimate) == (6, pytest.approx(0.0))
    assert nps.ci_low < 0 < nps.ci_high


def test_the_nps_interval_is_published_in_points_at_both_ends():
    from outcomes.analysis.intervals import nps_interval

    nps = metrics_panel(hand_built_frame()).get("nps")  # 2 promoters, 2 detractors of 6
    _, low, high = nps_interval(2, 2, 6)
    assert_allclose([nps.ci_low, nps.ci_high], [100 * low, 100 * high], rtol=1e-12)
    assert nps.ci_high == pytest.approx(-nps.ci_low)


def test_salary_quantiles_use_full_time_salaries_only():
    panel = metrics_panel(hand_built_frame(), salary_top_quantile=1.0)
    median = panel.get("salary_p50")
    assert median.n == 3  # 30k, 50k and the 35-hour "part-time" 20k
    assert median.estimate == pytest.approx(30_000)
    assert panel.salary_exclusions is not None
    assert panel.salary_exclusions.above_cap == 0


def test_salary_exclusions_are_counted_and_removed():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "activity": "employed_full_time",
            "hours_per_week": 40.0,
            "salary_annual": np.r_[rng.normal(40_000, 5_000, 997), 9_000_000, 5_000, 45_000],
            "salary_excluded": [False] * 999 + [True],
        }
    )
    salaries, exclusions = eligible_salaries(frame, top_quantile=0.999, floor=12_000)
    assert exclusions.flagged_excluded == 1
    assert exclusions.below_floor == 1
    assert exclusions.above_cap == 1
    assert salaries["salary"].max() < 9_000_000
    assert len(salaries) == 997


def synthetic_frame(seed: int = 1, per_group: int = 4000) -> pd.DataFrame:
    """Two programmes with planted employment rates 0.80 (A) and 0.50 (B) among the labour force."""
    rng = np.random.default_rng(seed)
    parts = []
    for programme, employed_share in (("A", 0.8), ("B", 0.5)):
        employed = rng.random(per_group) < employed_share
        parts.append(
            pd.DataFrame(
                {
                    "programme": programme,
                    "cohort": rng.choice([2023, 2024], per_group),
                    "invited": True,
                    "responded": rng.random(per_group) < 0.6,
                    "partial": False,
                    "known": True,
                    "activity": np.where(employed, "employed_full_time", "seeking_employment"),
                    "hours_per_week": np.where(employed, 38.0, np.nan),
                    "salary_annual": np.where(
                        employed, rng.normal(40_000, 8_000, per_group), np.nan
                    ),
                    "salary_excluded": False,
                    "satisfaction": rng.integers(1, 6, per_group),
                    "nps": rng.integers(0, 11, per_group),
                    "job_related": rng.integers(1, 6, per_group),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    for item in ("voice_meaningful", "voice_future", "voice_skills"):
        frame[item] = frame["satisfaction"]
    return frame


def test_planted_employment_rates_are_recovered_by_programme():
    panel = metrics_panel(synthetic_frame(), ["programme"])
    for programme, truth in (("A", 0.8), ("B", 0.5)):
        metric = panel.get("overall_employment_rate", (programme,))
        assert metric.ci_low <= truth <= metric.ci_high
        assert metric.denominator == 4000


def test_grouped_panel_equals_panels_computed_one_group_at_a_time():
    frame = synthetic_frame(per_group=500)
    grouped = metrics_panel(frame, ["programme", "cohort"], salary_top_quantile=1.0).to_frame()
    for (programme, cohort), part in frame.groupby(["programme", "cohort"]):
        alone = metrics_panel(part, salary_top_quantile=1.0).to_frame()
        mine = grouped[(grouped["programme"] == programme) & (grouped["cohort"] == cohort)]
        assert list(mine["metric"]) == list(alone["metric"])
        assert_allclose(mine["estimate"], alone["estimate"], rtol=1e-12)
        assert_allclose(mine["ci_low"], alone["ci_low"], rtol=1e-12)


def test_panel_from_counts_equals_panel_from_rows():
    frame = synthetic_frame(per_group=300)
    counts = count_outcomes(frame, ["programme"])
    assert len(counts) == 2 and "n_seeking_employment" in counts
    from_counts = metrics_from_counts(counts, ["programme"]).to_frame()
    from_rows = metrics_panel(frame, ["programme"]).to_frame()
    from_rows = from_rows[~from_rows["metric"].str.startswith("salary")].reset_index(drop=True)
    pd.testing.assert_frame_equal(from_counts, from_rows)


def test_to_frame_has_one_row_per_group_and_metric():
    panel = metrics_panel(synthetic_frame(per_group=200), ["programme", "cohort"])
    frame = panel.to_frame()
    assert len(frame) == len(panel.groups()) * len(panel.names) == 4 * 17
    assert {"metric", "numerator", "denominator", "n", "estimate", "ci_low", "ci_high",
            "method", "definition"} <= set(frame.columns)  # fmt: skip


def test_custom_column_names_are_honoured():
    frame = hand_built_frame().rename(columns={"activity": "primary_activity"})
    panel = metrics_panel(frame, activity="primary_activity")
    assert panel.get("knowledge_rate").numerator == 8
    assert panel.get("overall_employment_rate").numerator == 5


def test_asking_for_a_missing_group_or_metric_says_what_exists():
    panel = metrics_panel(synthetic_frame(per_group=50), ["programme"])
    with pytest.raises(KeyError, match="groups are"):
        panel.get("response_rate", ("Z",))
    with pytest.raises(KeyError, match="metrics are"):
        panel.get("happiness", ("A",))


def test_fulltime_threshold_is_a_setting():
    frame = hand_built_frame()
    nace = metrics_panel(frame, fulltime_hours=30).get("fulltime_employment_rate")
    qilt = metrics_panel(frame, fulltime_hours=35.5).get("fulltime_employment_rate")
    assert (nace.numerator, qilt.numerator) == (3, 2)


def test_by_default_thirty_hours_a_week_is_full_time_for_salaries() -> None:
    # NACE's 30 hours (domain.md section 4) when the caller names no threshold.
    frame = pd.DataFrame(
        {
            "activity": "employed_part_time",
            "hours_per_week": [30.0, 29.5, 31.0],
            "salary_annual": [30_000.0, 31_000.0, 32_000.0],
            "salary_excluded": False,
        }
    )
    salaries, _ = eligible_salaries(frame, top_quantile=1.0)
    assert sorted(salaries["salary"]) == [30_000.0, 32_000.0]


def test_the_satisfaction_interval_of_nearly_identical_answers_matches_statsmodels() -> None:
    from statsmodels.stats.weightstats import DescrStatsW

    frame = hand_built_frame()
    answers = [4, 4, 4, 4, 5, 4, 4]
    frame = frame.iloc[: len(answers)].copy()
    frame["satisfaction"] = answers
    frame["responded"] = True
    satisfaction = metrics_panel(frame).get("satisfaction_mean")
    low, high = DescrStatsW(np.array(answers, dtype=float)).tconfint_mean(alpha=0.05)
    assert satisfaction.estimate == pytest.approx(np.mean(answers))
    assert (satisfaction.ci_low, satisfaction.ci_high) == pytest.approx((low, high))


def test_a_renamed_hours_column_also_decides_which_salaries_count() -> None:
    frame = hand_built_frame()
    renamed = frame.rename(columns={"hours_per_week": "weekly_hours"})
    expected = metrics_panel(frame, salary_top_quantile=1.0).get("salary_p50")
    median = metrics_panel(renamed, salary_top_quantile=1.0, hours_per_week="weekly_hours").get(
        "salary_p50"
    )
    assert (median.n, median.estimate) == (expected.n, expected.estimate) == (3, 30_000)
