"""One disclosure path: every figure a viewer reads is exact, rounded or withheld by one rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.analysis.balance import Overlap
from outcomes.analysis.compare import ComparisonResult
from outcomes.analysis.disclosure import DisclosurePolicy
from outcomes.analysis.publication import (
    WITHHELD,
    Publication,
    publishable_metrics_table,
)
from outcomes.analysis.survival import kaplan_meier
from outcomes.config import get_settings
from outcomes.errors import AnalysisRefused, NotFound, literal
from outcomes.impact.dashboard import Dashboard, Section, publication_for

HESA = Publication.controlled(DisclosurePolicy())
EXACT = Publication.exact()


def test_counts_are_exact_for_managers_and_rounded_or_withheld_for_reviewers() -> None:
    assert [EXACT.count(n) for n in (0, 3, 12)] == [0, 3, 12]
    assert [HESA.count(n) for n in (0, 1, 4, 5, 7, 8, 12, 13)] == [
        0,
        *[WITHHELD] * 2,
        5,
        5,
        10,
        10,
        15,
    ]
    assert HESA.count_text(12) == "10 (rounded)"
    assert HESA.count_text(3) == "fewer than 5"
    assert HESA.count_text(0) == "0"
    assert EXACT.count_text(3) == "3"
    college_scorecard = Publication.controlled(DisclosurePolicy(min_count=10))
    assert college_scorecard.count_text(8) == "fewer than 10"


def test_averages_and_rates_follow_the_hesa_thresholds() -> None:
    assert HESA.average(3.2, n=7) is WITHHELD and HESA.average(3.2, n=8) == 3.2
    assert HESA.rate(0.5, base=22) is WITHHELD and HESA.rate(0.5, base=23) == 0.5
    assert EXACT.average(3.2, n=1) == 3.2 and EXACT.rate(0.5, base=1) == 0.5
    stricter = Publication.controlled(DisclosurePolicy(max_n_hiding_average=20))
    assert not stricter.shows_average(20) and stricter.shows_average(21)


def test_only_administrators_and_managers_read_exact_counts_and_unknown_roles_fail_closed() -> None:
    settings = get_settings({})
    assert not publication_for("admin", settings).is_controlled
    assert not publication_for("manager", settings).is_controlled
    for role in ("reviewer", "auditor", ""):
        assert publication_for(role, settings).is_controlled, role


def test_a_refusal_names_its_counts_as_the_viewer_may_read_them() -> None:
    refusal = AnalysisRefused(
        "Too few graduates: {holders} holders and {comparison} in the comparison group "
        "(each group needs at least 30).",
        holders=8,
        comparison=1,
    )
    assert str(refusal) == (
        "Too few graduates: 8 holders and 1 in the comparison group (each group needs at least 30)."
    )
    assert EXACT.refusal(refusal) == str(refusal)
    assert HESA.refusal(refusal) == (
        "Too few graduates: 10 (rounded) holders and fewer than 5 in the comparison group "
        "(each group needs at least 30)."
    )
    plain = NotFound("No holder of DA-101 has a known activity at 6 months yet.")
    assert HESA.refusal(plain) == str(plain)
    odd = AnalysisRefused(f"The column '{literal('{x}')}' misses {{n}} rows.", n=3)
    assert str(odd) == "The column '{x}' misses 3 rows." and "fewer than 5" in HESA.refusal(odd)


def test_tables_are_untouched_when_exact_and_suppressed_when_controlled() -> None:
    table = pd.DataFrame({"n": [3, 12, 40], "successes": [1, 6, 20], "rate": [1 / 3, 0.5, 0.5]})
    spec = {"counts": ("n", "successes"), "rates": {"rate": ("successes", "n")}}
    pd.testing.assert_frame_equal(EXACT.table(table, **spec), table)
    shown = HESA.table(table, **spec)
    assert shown["n"].tolist() == [pd.NA, 10, 40]
    assert shown["successes"].tolist() == [pd.NA, 5, 20]
    assert shown["rate"].isna().tolist() == [True, True, False]


def test_the_metrics_table_splits_rates_from_averages_each_with_its_rule() -> None:
    panel = pd.DataFrame(
        {
            "programme": ["A", "A", "B"],
            "metric": ["fulltime_employment_rate", "salary_p50", "salary_p50"],
            "numerator": [12, np.nan, np.nan],
            "denominator": [30, np.nan, np.nan],
            "n": [30, 7, 9],
            "estimate": [0.4, 31000.0, 29000.0],
            "ci_low": [0.25, 28000.0, 27000.0],
            "ci_high": [0.57, 34000.0, 31000.0],
            "unit": ["proportion", "currency", "currency"],
        }
    )
    published = publishable_metrics_table(panel, DisclosurePolicy()).published
    assert published["rate_estimate"].tolist()[0] == 0.4
    assert published["average_estimate"].isna().tolist() == [True, True, False]
    assert published["n"].tolist() == [30, 5, 10]
    assert HESA.metrics(panel)[1] is not None and EXACT.metrics(panel)[1] is None


def test_a_withheld_average_cannot_be_read_from_the_raw_estimate_columns() -> None:
    panel = pd.DataFrame(
        {
            "metric": ["salary_p50"],
            "numerator": [np.nan],
            "denominator": [np.nan],
            "n": [7],
            "estimate": [31000.0],
            "ci_low": [28000.0],
            "ci_high": [34000.0],
            "unit": ["currency"],
        }
    )
    published = publishable_metrics_table(panel, DisclosurePolicy()).published
    assert not {"estimate", "ci_low", "ci_high"} & set(published.columns)
    assert not published.isin([31000.0, 28000.0, 34000.0]).to_numpy().any()


def _survival_dashboard(publication: Publication, sizes: dict[str, int]) -> Dashboard:
    rows = [
        {"group": group, "duration": float(1 + i % 6), "event": 1}
        for group, n in sizes.items()
        for i in range(n)
    ]
    curves = kaplan_meier(pd.DataFrame(rows), "duration", "event", "group")
    empty: Section[object] = Section(None, "not computed")
    return Dashboard(
        6, "DA-101", ("DA-101",), empty, None, empty, empty, Section(curves), empty, empty,  # type: ignore[arg-type]
        publication=publication,
    )  # fmt: skip


def test_median_lines_follow_the_averages_threshold_of_the_settings() -> None:
    settings = get_settings({"OUTCOMES_MAX_N_HIDING_AVERAGE": "20"})
    assert settings.max_n_hiding_average == 20
    stricter = publication_for("reviewer", settings)
    sizes = {"holders": 30, "non-completers": 15}
    lines = _survival_dashboard(stricter, sizes).median_lines()
    assert lines[0].startswith("holders: median") and "n = 30 (rounded)" in lines[0]
    assert lines[1] == "non-completers: median withheld (too few graduates to publish it)."
    default = _survival_dashboard(publication_for("reviewer", get_settings({})), sizes)
    assert default.median_lines()[1].startswith("non-completers: median 3.0 months")
    exact = _survival_dashboard(EXACT, sizes).median_lines()
    assert "n = 15" in exact[1] and "rounded" not in exact[1]


def test_survival_points_are_withheld_for_small_groups_and_at_risk_numbers_rounded() -> None:
    frame = _survival_dashboard(HESA, {"holders": 31, "non-completers": 12}).survival_frame()
    assert set(frame["group"]) == {"holders"}, "a group below the percentage base is withheld"
    at_risk = frame["at_risk"].dropna().to_numpy(dtype=float)
    assert np.all(at_risk % 5 == 0) and len(at_risk) > 1


def test_the_overlap_sentence_never_shows_an_exact_small_count_to_a_reviewer() -> None:
    overlap = Overlap(
        propensity_min_treated=0.1,
        propensity_max_treated=0.9,
        propensity_min_control=0.05,
        propensity_max_control=0.8,
        common_support_low=0.1,
        common_support_high=0.8,
        n_outside_common_support=3,
        trim_low=None,
        trim_high=None,
        n_trimmed_treated=1,
        n_trimmed_control=1,
        effective_n_treated=88.4,
        effective_n_control=41.7,
    )
    result = ComparisonResult(
        "aipw", "att", "binary", 0.1, 0.02, 0.06, 0.14, 0.001, 96, 52, 0, (), overlap
    )
    empty: Section[object] = Section(None, "not computed")

    def board(publication: Publication) -> Dashboard:
        return Dashboard(
            6, "DA-101", ("DA-101",), empty, None, Section(result), empty, empty, empty, empty,  # type: ignore[arg-type]
            publication=publication,
        )  # fmt: skip

    assert (
        board(HESA)
        .overlap_sentence()
        .endswith(
            "fewer than 5 graduates fall outside the common support and fewer than 5 were "
            "trimmed. Weighted, the 50 (rounded) non-completers count as 40 (rounded) (Kish "
            "effective sample size)."
        )
    )
    assert "n = 95 (rounded) holders, 50 (rounded) non-completers" in (board(HESA).headline() or "")
    exact = board(EXACT).overlap_sentence()
    assert "3 graduates fall outside" in exact and "2 were trimmed" in exact and "42" in exact


def test_a_count_that_is_not_a_number_passes_through_unchanged() -> None:
    assert HESA.count(float("inf")) == float("inf")
    assert np.isnan(HESA.count(float("nan")))  # type: ignore[arg-type]
