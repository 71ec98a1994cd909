"""Charts are specifications over aggregated frames; checked through to_dict, not pixels."""

from __future__ import annotations

import pandas as pd

from outcomes.impact import charts


def _layers(spec: dict) -> list[dict]:
    return spec["layer"]


def test_rates_are_points_with_interval_bars_in_percent() -> None:
    frame = pd.DataFrame(
        {
            "programme": ["A", "B"],
            "estimate": [0.6, 0.7],
            "ci_low": [0.5, 0.6],
            "ci_high": [0.7, 0.8],
        }
    )
    spec = charts.rate_with_intervals(frame, category="programme", title="Full-time").to_dict()
    bars, points = _layers(spec)
    assert bars["mark"]["type"] == "rule"
    assert (
        bars["encoding"]["x"]["field"] == "ci_low" and bars["encoding"]["x2"]["field"] == "ci_high"
    )
    assert bars["encoding"]["x"]["axis"]["format"] == ".0%"
    assert points["encoding"]["x"]["field"] == "estimate"
    assert len(next(iter(spec["datasets"].values()))) == 2, "only the aggregates are sent"


def test_the_balance_chart_marks_the_what_works_clearinghouse_limits() -> None:
    frame = pd.DataFrame(
        {
            "covariate": ["age", "prior_education=master"],
            "smd_before": [0.4, -0.2],
            "smd_after": [0.02, 0.01],
        }
    )
    spec = charts.covariate_balance(frame).to_dict()
    datasets = list(spec["datasets"].values())
    limits = next(d for d in datasets if "x" in d[0])
    assert sorted(row["x"] for row in limits) == [-0.25, -0.05, 0.05, 0.25]
    points = next(d for d in datasets if "when" in d[0])
    assert {row["when"] for row in points} == {"before", "after"}


def test_time_to_first_job_draws_step_curves_with_bands_per_group() -> None:
    frame = pd.DataFrame(
        {
            "group": ["holders"] * 2,
            "time": [0.0, 3.0],
            "employed": [0.0, 0.4],
            "employed_lower": [0.0, 0.3],
            "employed_upper": [0.0, 0.5],
            "at_risk": [10, 6],
        }
    )
    band, line = _layers(charts.time_to_first_job(frame).to_dict())
    assert band["mark"]["interpolate"] == line["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["color"]["field"] == "group"


def test_the_cohort_trend_has_a_band_and_a_line() -> None:
    frame = pd.DataFrame(
        {
            "cohort": [2021, 2022],
            "rate": [0.5, 0.6],
            "ci_low": [0.4, 0.5],
            "ci_high": [0.6, 0.7],
            "n": [40, 50],
        }
    )
    band, line = _layers(charts.trend_by_cohort(frame).to_dict())
    assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line"


def test_the_monitor_draws_sends_and_completions_per_day_from_the_totals_only() -> None:
    from outcomes.fieldwork import charts as fieldwork_charts

    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2025-01-06", "2025-01-06", "2025-01-07"]),
            "series": ["sent", "completed", "reminders"],
            "count": [40, 3, 12],
        }
    )
    spec = fieldwork_charts.sends_and_completions(frame, title="By day").to_dict()
    assert spec["mark"] == {"type": "line", "point": True}
    assert spec["encoding"]["x"]["field"] == "day" and spec["encoding"]["x"]["type"] == "temporal"
    assert spec["encoding"]["y"]["field"] == "count"
    [rows] = spec["datasets"].values()
    assert len(rows) == 3, "only the per-day totals are sent"
    assert {r["series"] for r in rows} == {
        "first messages sent",
        "responses completed",
        "reminders sent",
    }
