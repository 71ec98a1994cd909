"""Confidence intervals checked against statsmodels, scipy and Newcomb (1998)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from outcomes.analysis.intervals import (
    NEWCOMB,
    difference_of_proportions,
    grouped_quantiles,
    mean_t_interval,
    newcomb_interval,
    nps_interval,
    quantile_interval,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials"), [(0, 10), (1, 10), (56, 70), (48, 80), (30, 30), (7, 1234)]
)
def test_wilson_matches_statsmodels(successes, trials):
    # Reference: statsmodels.stats.proportion.proportion_confint(method="wilson").
    expected = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    assert_allclose(wilson_interval(successes, trials), expected, rtol=1e-10, atol=1e-12)


def test_wilson_is_vectorised_and_undefined_for_empty_groups():
    low, high = wilson_interval(np.array([5, 0, 3]), np.array([10, 0, 3]), confidence=0.9)
    expected = proportion_confint(5, 10, alpha=0.1, method="wilson")
    assert_allclose([low[0], high[0]], expected, rtol=1e-10)
    assert np.isnan(low[1]) and np.isnan(high[1])
    assert high[2] == pytest.approx(1.0)


# Newcomb, R. G. (1998). Statistics in Medicine 17:873-890, Table II, method 10
# (score method combining Wilson intervals, no continuity correction).
NEWCOMB_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMB_TABLE_II)
def test_newcomb_method_10_reproduces_newcomb_1998_table_ii(counts, published):
    difference, low, high = newcomb_interval(*counts)
    assert difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert_allclose([low, high], published, atol=5e-5)


def test_difference_of_proportions_names_its_method():
    estimate = difference_of_proportions(56, 70, 48, 80)
    assert estimate.method == NEWCOMB
    assert estimate.contains(0.2) and not estimate.contains(0.0)
    assert estimate.width == pytest.approx(0.3339 - 0.0524, abs=1e-4)


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("n", [15, 40, 301])
def test_quantile_interval_matches_scipy_quantile_test(q, n):
    values = np.random.default_rng(n).lognormal(10, 0.5, n)
    result = quantile_interval(values, q)
    # Reference: scipy.stats.quantile_test(...).confidence_interval (order statistics, binomial).
    reference = stats.quantile_test(values, q=np.quantile(values, q), p=q).confidence_interval(0.95)
    assert result.ci_low == pytest.approx(reference.low)
    assert result.ci_high == pytest.approx(reference.high)
    assert result.estimate == pytest.approx(np.quantile(values, q))
    assert result.n == n


def test_quantile_interval_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    true_median = np.exp(10.0)  # median of lognormal(10, s)
    hits = 0
    for _ in range(400):
        result = quantile_interval(rng.lognormal(10, 0.6, 60), 0.5)
        hits += result.contains(true_median)
    assert 0.92 <= hits / 400 <= 0.995


def test_grouped_quantiles_equal_one_group_at_a_time():
    rng = np.random.default_rng(3)
    groups = [rng.normal(50, 10, size) for size in (1, 5, 30, 0, 120)]
    sorted_values = np.concatenate([np.sort(g) for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    estimate, low, high = grouped_quantiles(sorted_values, starts, sizes, 0.75)
    for position, group in enumerate(groups):
        if len(group) == 0:
            assert np.isnan(estimate[position]) and np.isnan(low[position])
            continue
        single = quantile_interval(group, 0.75)
        assert (estimate[position], low[position], high[position]) == pytest.approx(
            (single.estimate, single.ci_low, single.ci_high)
        )


def test_nps_interval_uses_the_multinomial_variance():
    score, low, high = nps_interval(50, 20, 100)
    # Independent form: var = [pP(1-pP) + pD(1-pD) + 2 pP pD] / n = (.25 + .16 + .2) / 100.
    se = np.sqrt((0.5 * 0.5 + 0.2 * 0.8 + 2 * 0.5 * 0.2) / 100)
    assert score == pytest.approx(0.30)
    assert_allclose([low, high], [0.30 - 1.959964 * se, 0.30 + 1.959964 * se], rtol=1e-6)


def test_nps_interval_has_nominal_coverage_in_simulation():
    rng = np.random.default_rng(11)
    shares = [0.45, 0.35, 0.20]  # promoters, passives, detractors: true NPS 0.25
    draws = rng.multinomial(200, shares, size=4000)
    _, low, high = nps_interval(draws[:, 0], draws[:, 2], 200)
    coverage = np.mean((low <= 0.25) & (high >= 0.25))
    assert 0.93 <= coverage <= 0.97


def test_nps_is_undefined_without_answers():
    score, low, high = nps_interval(0, 0, 0)
    assert np.isnan(score) and np.isnan(low) and np.isnan(high)


def test_mean_t_interval_matches_statsmodels_descrstats():
    values = np.array([4, 5, 3, 4, 4, 2, 5, 5, 3, 4], dtype=float)
    low, high = mean_t_interval(values.mean(), values.std(ddof=1), len(values))
    # Reference: statsmodels DescrStatsW.tconfint_mean.
    assert_allclose([low, high], DescrStatsW(values).tconfint_mean(alpha=0.05), rtol=1e-10)


def test_a_mean_of_fewer_than_two_answers_has_no_interval_even_with_a_finite_sd():
    # A finite SD (as a count-based caller could pass) must not slip past the n < 2 guard.
    low, high = mean_t_interval([3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0], [0, 1, 2, 3])
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all()
    # n = 2 and 3 are defined: 3 -/+ t(0.975, n - 1) / sqrt(n), t = 12.706205 and 4.302653.
    assert_allclose(low[2:], [3 - 12.706205 / np.sqrt(2), 3 - 4.302653 / np.sqrt(3)], rtol=1e-6)
    assert_allclose(high[2:], [3 + 12.706205 / np.sqrt(2), 3 + 4.302653 / np.sqrt(3)], rtol=1e-6)


def test_confidence_outside_zero_and_one_is_rejected():
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=95)


def test_a_group_where_everyone_succeeded_has_an_upper_limit_of_one_never_above():
    # Unclipped, the Wilson limit lands one unit in the last place above 1 for many n.
    n = np.arange(1, 2001)
    _, high = wilson_interval(n, n)
    assert np.all(high <= 1.0) and high.max() == 1.0


def test_the_nps_of_a_single_answer_is_defined():
    score, _, _ = nps_interval(1, 0, 1)
    assert score == pytest.approx(1.0)


def test_order_statistic_ranks_cover_95_percent_unless_told_otherwise():
    from outcomes.analysis.intervals import order_statistic_ranks

    default = np.array(order_statistic_ranks(100, 0.5))
    np.testing.assert_array_equal(default, np.array(order_statistic_ranks(100, 0.5, 0.95)))


def test_an_estimate_is_at_95_percent_unless_told_otherwise() -> None:
    from outcomes.analysis.intervals import Estimate

    assert Estimate(0.5, 0.4, 0.6, 100, "Wilson score").confidence == 0.95
