"""What a reviewer sees of the metrics panel: the real wiring through suppress_small_cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.analysis.disclosure import DisclosurePolicy
from outcomes.analysis.metrics import metrics_panel
from outcomes.impact.service import publishable_metrics


def panel_frame() -> pd.DataFrame:
    """Programme A: 30 graduates, 2 employed full-time; programme B: 6 graduates."""
    rows = []
    for programme, n, fulltime in (("A", 30, 2), ("B", 6, 3)):
        for i in range(n):
            rows.append(
                {
                    "programme": programme,
                    "invited": True,
                    "responded": True,
                    "partial": False,
                    "known": True,
                    "activity": "employed_full_time" if i < fulltime else "seeking_employment",
                    "hours_per_week": 40.0 if i < fulltime else np.nan,
                    "salary_annual": 30_000.0 + 1_000 * i if i < fulltime else np.nan,
                    "salary_excluded": False,
                    "job_related": 4.0,
                    "satisfaction": 4.0 + (i % 2),
                    "nps": float(i % 11),
                    "voice_meaningful": 4.0,
                    "voice_future": 3.0,
                    "voice_skills": 5.0,
                }
            )
    return pd.DataFrame(rows)


def published() -> pd.DataFrame:
    panel = metrics_panel(panel_frame(), ["programme"])
    return publishable_metrics(panel, DisclosurePolicy()).published.set_index(
        ["programme", "metric"]
    )


def test_every_published_count_is_a_multiple_of_five() -> None:
    table = published()
    for column in ("numerator", "denominator", "n", "rate_base", "average_n"):
        values = table[column].dropna().to_numpy(dtype=float)
        assert np.all(values % 5 == 0), column


def test_a_rate_whose_numerator_is_withheld_is_withheld_too() -> None:
    # 2 of 30 employed full-time: the count 2 is withheld, so 2/30 must not be published.
    row = published().loc[("A", "career_outcomes_rate")]
    assert pd.isna(row["numerator"])
    assert pd.isna(row["rate_estimate"]) and pd.isna(row["rate_ci_low"])


def test_rates_on_small_bases_and_averages_on_tiny_groups_are_withheld() -> None:
    table = published()
    small = table.loc["B"]
    assert small["rate_estimate"].isna().all(), "base 6 < 22.5"
    assert small["average_estimate"].isna().all(), "n 6 <= 7"
    big = table.loc[("A", "response_rate")]
    assert big["rate_estimate"] == 1.0


def test_published_rates_are_whole_percentages() -> None:
    rates = published()["rate_estimate"].dropna()
    proportions = rates[rates.abs() <= 1]
    assert np.allclose(proportions, proportions.round(2))
