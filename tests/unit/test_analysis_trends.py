"""Trends: cohort rates, pre/post, difference-in-differences, programme comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from scipy import stats

from outcomes.analysis.trends import compare_programmes, did, pre_post, rate_by_cohort
from outcomes.errors import AnalysisRefused


def cohort_frame(successes: int, n: int, cohort: int) -> pd.DataFrame:
    return pd.DataFrame({"employed": [1] * successes + [0] * (n - successes), "year": cohort})


def test_cohort_rates_carry_wilson_intervals_matching_newcombes_published_values():
    # Newcombe (1998), Stat Med 17:857, Table I, method 3 (Wilson score):
    # 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611.
    unanswered = pd.DataFrame({"employed": [np.nan] * 4, "year": [2023, 2023, 2024, 2025]})
    frame = pd.concat(
        [
            cohort_frame(81, 263, 2023),
            cohort_frame(15, 148, 2024),
            cohort_frame(0, 20, 2025),
            unanswered,  # missing answers stay out of the base
        ],
        ignore_index=True,
    )
    rates = rate_by_cohort(frame, "employed", "year").to_frame()
    assert list(rates["cohort"]) == [2023, 2024, 2025]
    assert list(rates["n"]) == [263, 148, 20]
    assert_allclose(
        rates[["ci_low", "ci_high"]],
        [[0.2553, 0.3662], [0.0624, 0.1605], [0.0, 0.1611]],
        atol=5e-5,
    )


def test_pre_post_binary_uses_exact_mcnemar_and_the_bonett_price_interval():
    # 10 gained a job, 2 lost one, 30 employed both times, 8 neither (n = 50).
    before = [0] * 10 + [1] * 2 + [1] * 30 + [0] * 8
    after = [1] * 10 + [0] * 2 + [1] * 30 + [0] * 8
    frame = pd.DataFrame({"baseline": [*before, 1.0], "follow_up": [*after, np.nan]})
    result = pre_post(frame, "baseline", "follow_up")
    assert (result.n_pairs, result.n_incomplete) == (50, 1)
    assert_allclose(result.difference, 8 / 50)
    # Exact McNemar: two-sided binomial on 12 discordant pairs, 2*P(X<=2) = 158/4096.
    assert_allclose(result.p_value, 158 / 4096)
    assert result.test == "McNemar exact"
    # Bonett & Price (2012): p12 = 11/52, p21 = 3/52, diff +/- 1.96 sqrt((p12+p21-diff^2)/52)
    p12, p21 = 11 / 52, 3 / 52
    half = stats.norm.ppf(0.975) * np.sqrt((p12 + p21 - (p12 - p21) ** 2) / 52)
    assert_allclose([result.ci_low, result.ci_high], [p12 - p21 - half, p12 - p21 + half])


def test_pre_post_continuous_is_a_paired_t_on_log_salary():
    rng = np.random.default_rng(1)
    before = rng.normal(10, 0.4, 80)
    after = before + 0.05 + rng.normal(0, 0.1, 80)
    result = pre_post(pd.DataFrame({"b": before, "a": after}), "b", "a")
    reference = stats.ttest_rel(after, before)
    assert result.kind == "continuous"
    assert_allclose(result.difference, np.mean(after - before))
    assert_allclose(result.p_value, reference.pvalue)
    assert result.ci_low < 0.05 < result.ci_high


def test_pre_post_refuses_without_pairs():
    frame = pd.DataFrame({"b": [1.0, np.nan], "a": [np.nan, 0.0]})
    with pytest.raises(AnalysisRefused, match="Only 0 graduates"):
        pre_post(frame, "b", "a")


def did_frame(seed: int = 0, clusters: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 2400
    cohort = rng.integers(0, clusters, n)
    group = (cohort % 2).astype(float)
    post = (cohort >= clusters // 2).astype(float)
    shock = rng.normal(0, 0.05, clusters)[cohort]
    y = 0.6 + 0.1 * group + 0.05 * post + 0.08 * group * post + shock + rng.normal(0, 0.3, n)
    return pd.DataFrame({"y": y, "redesigned": group, "post": post, "cohort": cohort})


def test_did_coefficient_equals_the_two_by_two_difference_of_means():
    frame = did_frame()
    result = did(frame, "y", "redesigned", "post", "cohort")
    means = frame.groupby(["redesigned", "post"])["y"].mean()
    expected = (means[1, 1] - means[1, 0]) - (means[0, 1] - means[0, 0])
    assert_allclose(result.estimate, expected)
    m = result.cell_means
    assert_allclose(result.estimate, (m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0]))
    assert result.n_clusters == 12


def test_did_clusters_stay_aligned_after_dropping_missing_outcomes():
    frame = did_frame(seed=3)
    frame.loc[frame.sample(frac=0.1, random_state=1).index, "y"] = np.nan
    result = did(frame, "y", "redesigned", "post", "cohort")
    # Reference: statsmodels formula API on the complete rows with their own cohorts.
    complete = frame.dropna()
    reference = smf.ols("y ~ redesigned * post", data=complete).fit(
        cov_type="cluster", cov_kwds={"groups": complete["cohort"]}, use_t=True
    )
    assert result.n == len(complete)
    assert_allclose(result.std_error, reference.bse["redesigned:post"])
    assert_allclose(result.p_value, reference.pvalues["redesigned:post"])


def test_did_refuses_too_few_clusters_for_cluster_robust_errors():
    frame = did_frame(clusters=4)
    with pytest.raises(AnalysisRefused, match="Only 4 clusters"):
        did(frame, "y", "redesigned", "post", "cohort")


def test_did_refuses_an_empty_cell():
    frame = did_frame()
    frame = frame[~((frame["redesigned"] == 1) & (frame["post"] == 0))]
    with pytest.raises(AnalysisRefused, match="four cells"):
        did(frame, "y", "redesigned", "post", "cohort")


def programmes_frame() -> pd.DataFrame:
    counts = {"A": (56, 70), "B": (48, 80), "C": (40, 75), "D": (30, 60)}
    parts = [
        pd.DataFrame({"employed": [1] * k + [0] * (n - k), "programme": name})
        for name, (k, n) in counts.items()
    ]
    return pd.concat(parts, ignore_index=True)


def test_programme_pairs_use_newcombes_interval_and_holm_by_default():
    result = compare_programmes(programmes_frame(), "employed", "programme")
    assert result.correction == "Holm"
    assert len(result.pairs) == 6
    a_vs_b = result.pairs[0]
    assert (a_vs_b.first, a_vs_b.second) == ("A", "B")
    # Newcombe (1998), Stat Med 17:873, Table II, 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    assert_allclose([a_vs_b.ci_low, a_vs_b.ci_high], [0.0524, 0.3339], atol=5e-5)
    # Holm by hand: the i-th smallest of m p-values is multiplied by (m - i + 1), cumulative max.
    raw = np.array([pair.p_value for pair in result.pairs])
    order = np.argsort(raw)
    stepped = np.maximum.accumulate(raw[order] * (len(raw) - np.arange(len(raw))))
    expected = np.empty_like(raw)
    expected[order] = np.minimum(stepped, 1)
    assert_allclose([pair.p_adjusted for pair in result.pairs], expected)


def test_benjamini_hochberg_is_available_and_named():
    holm = compare_programmes(programmes_frame(), "employed", "programme")
    bh = compare_programmes(programmes_frame(), "employed", "programme", correction="bh")
    assert bh.correction == "Benjamini–Hochberg"
    assert all(
        b.p_adjusted <= h.p_adjusted + 1e-12 for b, h in zip(bh.pairs, holm.pairs, strict=True)
    )
    assert "p_adjusted" in bh.to_frame().columns


def test_programme_comparison_refuses_a_single_programme():
    frame = programmes_frame()
    with pytest.raises(AnalysisRefused, match="at least two programmes"):
        compare_programmes(frame[frame["programme"] == "A"], "employed", "programme")
