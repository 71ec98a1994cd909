"""Adjusted comparisons: reference values from statsmodels, planted effects, refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.tools.numdiff import approx_fprime
from statsmodels.treatment.treatment_effects import TreatmentEffect

from outcomes.analysis.balance import kish_effective_n, wwc_flag
from outcomes.analysis.compare import _check_ranges_intersect, compare_groups
from outcomes.errors import AnalysisRefused

COVARIATES = ["age", "prior_degree", "field"]


def simulate_selection(n: int, seed: int, *, binary: bool = False) -> tuple[pd.DataFrame, float]:
    """Selection on observables: older graduates with a prior degree in IT both enrol more
    and earn more, so a naive difference overstates the effect. Returns (frame, true SATT)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(30, 6, n)
    prior = rng.binomial(1, 0.4, n)
    field = rng.choice(["arts", "it", "science"], n)
    it = (field == "it").astype(float)
    score = -0.6 + 0.07 * (age - 30) + 0.9 * prior + 0.6 * it
    treated = rng.binomial(1, 1 / (1 + np.exp(-score)))
    if binary:
        base = -0.3 + 0.05 * (age - 30) + 0.8 * prior + 0.5 * it
        p0 = 1 / (1 + np.exp(-base))
        p1 = 1 / (1 + np.exp(-(base + 0.4)))
        outcome = rng.binomial(1, np.where(treated == 1, p1, p0))
        truth = float((p1 - p0)[treated == 1].mean())
    else:
        effect = 0.05 + 0.05 * prior  # heterogeneous: ATT differs from ATE
        outcome = (
            10 + 0.02 * (age - 30) + 0.25 * prior + 0.15 * it + effect * treated
        ) + rng.normal(0, 0.3, n)
        truth = float(effect[treated == 1].mean())
    frame = pd.DataFrame(
        {"age": age, "prior_degree": prior, "field": field, "holder": treated, "y": outcome}
    )
    return frame, truth


def statsmodels_treatment_effect(frame: pd.DataFrame) -> TreatmentEffect:
    design = sm.add_constant(
        pd.get_dummies(frame[COVARIATES], columns=["field"], drop_first=True, dtype=float)
    ).to_numpy(dtype=float)
    treated = frame["holder"].to_numpy()
    select = sm.Logit(treated, design).fit(disp=0)
    return TreatmentEffect(sm.OLS(frame["y"].to_numpy(), design), treated, results_select=select)


# Reference: statsmodels.treatment.treatment_effects.TreatmentEffect (GMM standard errors that
# account for the propensity and outcome models), called directly on the same data.
@pytest.mark.parametrize(
    ("method", "estimand", "reference"),
    [
        ("ipw", "ate", lambda te: te.ipw(effect_group="all")),
        ("ipw", "att", lambda te: te.ipw(effect_group=1)),
        ("regression", "ate", lambda te: te.ra(effect_group="all")),
        ("regression", "att", lambda te: te.ra(effect_group=1)),
        ("aipw", "ate", lambda te: te.aipw()),
    ],
)
def test_estimate_and_standard_error_equal_statsmodels_treatment_effect(
    method, estimand, reference
):
    frame, _ = simulate_selection(1500, seed=11)
    result = compare_groups(
        frame,
        outcome="y",
        treatment="holder",
        covariates=COVARIATES,
        method=method,
        estimand=estimand,
        trim=None,
    )
    expected = reference(statsmodels_treatment_effect(frame))
    assert_allclose(result.estimate, expected.effect[0], rtol=1e-8)
    assert_allclose(result.std_error, expected.sd[0], rtol=1e-6)


def test_doubly_robust_att_matches_a_numerical_sandwich_of_its_estimating_equations():
    # TreatmentEffect has no AIPW ATT, so the reference is the stacked M-estimator
    # (Moodie et al. 2018 ATT equations + control OLS + propensity logit) with a numerically
    # differentiated Jacobian: V = A^-1 B A^-T / n (Stefanski & Boos 2002).
    frame, _ = simulate_selection(1200, seed=5)
    result = compare_groups(
        frame, outcome="y", treatment="holder", covariates=COVARIATES, trim=None
    )
    x = sm.add_constant(
        pd.get_dummies(frame[COVARIATES], columns=["field"], drop_first=True, dtype=float)
    ).to_numpy(dtype=float)
    t, y = frame["holder"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
    k = x.shape[1]
    gamma = sm.Logit(t, x).fit(disp=0).params
    beta = sm.OLS(y[t == 0], x[t == 0]).fit().params
    odds = np.exp(x @ gamma)
    resid = y - x @ beta
    a = resid[t == 1].mean()
    b = np.sum((1 - t) * odds * resid) / np.sum((1 - t) * odds)

    def moments(theta):
        a_, b_, beta_, gamma_ = theta[0], theta[1], theta[2 : 2 + k], theta[2 + k :]
        r = y - x @ beta_
        w = (1 - t) * np.exp(x @ gamma_)
        return np.column_stack(
            [
                t * (r - a_),
                w * (r - b_),
                ((1 - t) * r)[:, None] * x,
                (t - 1 / (1 + np.exp(-(x @ gamma_))))[:, None] * x,
            ]
        )

    theta = np.concatenate([[a, b], beta, gamma])
    jacobian = approx_fprime(theta, lambda th: moments(th).mean(axis=0), centered=True)
    g = moments(theta)
    meat = g.T @ g / len(y)
    inverse = np.linalg.inv(jacobian)
    covariance = inverse @ meat @ inverse.T / len(y)
    contrast = np.zeros(len(theta))
    contrast[:2] = [1, -1]
    assert_allclose(result.estimate, a - b, rtol=1e-10)
    assert_allclose(result.std_error, np.sqrt(contrast @ covariance @ contrast), rtol=1e-5)


def unscaled_design(frame: pd.DataFrame) -> np.ndarray:
    """Intercept, age, prior degree and field dummies on their own scale (not standardised)."""
    return sm.add_constant(
        pd.get_dummies(frame[COVARIATES], columns=["field"], drop_first=True, dtype=float)
    ).to_numpy(dtype=float)


def expit(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def newton_logit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression by hand: Newton-Raphson on the score x'(y - p), 25 steps."""
    beta = np.zeros(x.shape[1])
    for _ in range(25):
        p = expit(x @ beta)
        beta += np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (y - p))
    return beta


def sandwich_se(moments, theta: np.ndarray, contrast: np.ndarray) -> float:
    """SE of contrast'theta for the stacked M-estimator: V = A^-1 B A^-T / n
    (Stefanski & Boos 2002), the Jacobian A differentiated numerically."""
    g = moments(theta)
    n = len(g)
    jacobian = approx_fprime(theta, lambda th: moments(th).mean(axis=0), centered=True)
    inverse = np.linalg.inv(jacobian)
    covariance = inverse @ (g.T @ g / n) @ inverse.T / n
    return float(np.sqrt(contrast @ covariance @ contrast))


def test_the_binary_att_with_logit_outcome_models_matches_an_independent_computation():
    # References written apart from the code under test: logits fitted by hand-written
    # Newton-Raphson on the unstandardised covariates, combined by the estimators' formulas;
    # standard errors from a numerical sandwich of the stacked estimating equations.
    #   regression ATT = mean over holders of expit(x b1) - expit(x b0)
    #   AIPW ATT (Moodie et al. 2018) = mean_holders(y - expit(x b0))
    #       - sum_controls odds (y - expit(x b0)) / sum_controls odds,  odds = exp(x g)
    frame, truth = simulate_selection(1500, seed=8, binary=True)
    x = unscaled_design(frame)
    t, y = frame["holder"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
    k = x.shape[1]
    gamma = newton_logit(x, t)
    beta1 = newton_logit(x[t == 1], y[t == 1])
    beta0 = newton_logit(x[t == 0], y[t == 0])
    holders = t == 1

    regression = compare_groups(
        frame, outcome="y", treatment="holder", covariates=COVARIATES, method="regression",
        trim=None,
    )  # fmt: skip
    gap = expit(x @ beta1) - expit(x @ beta0)
    tau = gap[holders].mean()

    def regression_moments(theta):
        tau_, b1, b0 = theta[0], theta[1 : 1 + k], theta[1 + k :]
        return np.column_stack(
            [
                t * (expit(x @ b1) - expit(x @ b0) - tau_),
                (t * (y - expit(x @ b1)))[:, None] * x,
                ((1 - t) * (y - expit(x @ b0)))[:, None] * x,
            ]
        )

    theta = np.concatenate([[tau], beta1, beta0])
    assert np.abs(regression_moments(theta).mean(axis=0)).max() < 1e-10  # a root, as it must be
    assert_allclose(regression.estimate, tau, rtol=1e-8)
    assert_allclose(
        regression.std_error, sandwich_se(regression_moments, theta, np.eye(len(theta))[0]),
        rtol=1e-5,
    )  # fmt: skip

    aipw = compare_groups(frame, outcome="y", treatment="holder", covariates=COVARIATES, trim=None)
    odds = np.exp(x @ gamma)
    resid = y - expit(x @ beta0)
    a = resid[holders].mean()
    b = np.sum((1 - t) * odds * resid) / np.sum((1 - t) * odds)

    def aipw_moments(theta):
        a_, b_, b0, g = theta[0], theta[1], theta[2 : 2 + k], theta[2 + k :]
        r = y - expit(x @ b0)
        return np.column_stack(
            [
                t * (r - a_),
                (1 - t) * np.exp(x @ g) * (r - b_),
                ((1 - t) * r)[:, None] * x,
                (t - expit(x @ g))[:, None] * x,
            ]
        )

    theta = np.concatenate([[a, b], beta0, gamma])
    assert np.abs(aipw_moments(theta).mean(axis=0)).max() < 1e-10
    contrast = np.zeros(len(theta))
    contrast[:2] = [1, -1]
    assert (aipw.method, aipw.estimand, aipw.outcome_kind) == ("aipw", "att", "binary")
    assert_allclose(aipw.estimate, a - b, rtol=1e-8)
    assert_allclose(aipw.std_error, sandwich_se(aipw_moments, theta, contrast), rtol=1e-5)
    # And both land on the planted effect: |estimate - truth| within 3 standard errors.
    for result in (regression, aipw):
        assert abs(result.estimate - truth) <= 3 * result.std_error, (result.method, truth)


@pytest.mark.parametrize("method", ["aipw", "ipw", "regression"])
def test_the_adjusted_estimate_recovers_a_planted_att_that_the_naive_difference_overstates(
    method,
):
    frame, truth = simulate_selection(6000, seed=22)
    naive = compare_groups(frame, outcome="y", treatment="holder", method="naive")
    adjusted = compare_groups(
        frame, outcome="y", treatment="holder", covariates=COVARIATES, method=method
    )
    assert naive.ci_low > truth  # confounded upwards, and significantly so
    assert adjusted.ci_low <= truth <= adjusted.ci_high
    assert abs(adjusted.estimate - truth) < abs(naive.estimate - truth) / 3


@pytest.mark.parametrize("method", ["aipw", "ipw", "regression"])
def test_a_binary_outcome_gives_a_difference_in_probabilities_covering_the_planted_att(method):
    frame, truth = simulate_selection(6000, seed=22, binary=True)
    naive = compare_groups(frame, outcome="y", treatment="holder", method="naive")
    adjusted = compare_groups(
        frame, outcome="y", treatment="holder", covariates=COVARIATES, method=method
    )
    assert adjusted.outcome_kind == "binary"
    assert naive.estimate > truth + 0.05
    assert adjusted.ci_low <= truth <= adjusted.ci_high
    assert -1 < adjusted.ci_low < adjusted.ci_high < 1


@pytest.mark.slow
def test_the_default_estimator_covers_the_planted_att_about_95_percent_of_the_time():
    hits = 0
    runs = 400
    for seed in range(runs):
        frame, truth = simulate_selection(800, seed=1000 + seed)
        result = compare_groups(frame, outcome="y", treatment="holder", covariates=COVARIATES)
        hits += result.ci_low <= truth <= result.ci_high
    assert 0.92 <= hits / runs <= 0.98


def test_the_naive_binary_difference_uses_newcombes_interval():
    # Newcombe (1998), Stat Med 17:873, Table II, method 10: 56/70 against 48/80 gives the
    # difference 0.2 with the interval 0.0524 to 0.3339.
    holder = np.r_[np.ones(70), np.zeros(80)]
    y = np.r_[np.ones(56), np.zeros(14), np.ones(48), np.zeros(32)]
    frame = pd.DataFrame({"holder": holder.astype(int), "y": y})
    result = compare_groups(frame, outcome="y", treatment="holder", method="naive")
    assert result.outcome_kind == "binary"
    assert_allclose(result.estimate, 56 / 70 - 48 / 80)
    assert_allclose([result.ci_low, result.ci_high], [0.0524, 0.3339], atol=5e-5)
    # Wald SE sqrt(p1 q1 / n1 + p0 q0 / n0) = sqrt(.8 * .2 / 70 + .6 * .4 / 80) behind the p-value.
    se = np.sqrt(0.8 * 0.2 / 70 + 0.6 * 0.4 / 80)
    assert_allclose(result.std_error, se)
    assert_allclose(result.p_value, 2 * stats.norm.sf(0.2 / se))


def test_the_naive_continuous_difference_is_welchs_t():
    frame, _ = simulate_selection(500, seed=2)
    result = compare_groups(frame, outcome="y", treatment="holder", method="naive")
    y1 = frame.loc[frame["holder"] == 1, "y"]
    y0 = frame.loc[frame["holder"] == 0, "y"]
    welch = stats.ttest_ind(y1, y0, equal_var=False)
    interval = welch.confidence_interval()
    assert_allclose([result.ci_low, result.ci_high], [interval.low, interval.high])
    assert_allclose(result.p_value, welch.pvalue)
    assert [row.smd_before for row in result.balance] == [row.smd_after for row in result.balance]


def test_weighting_shrinks_the_standardised_differences_of_the_confounders():
    frame, _ = simulate_selection(4000, seed=4)
    result = compare_groups(
        frame, outcome="y", treatment="holder", covariates=COVARIATES, method="ipw"
    )
    by_name = {row.covariate: row for row in result.balance}
    assert set(by_name) == {"age", "prior_degree", "field=it", "field=science"}
    assert by_name["prior_degree"].smd_before > 0.25
    assert by_name["prior_degree"].flag == "satisfies"
    assert all(abs(row.smd_after) < 0.05 for row in result.balance)
    assert_allclose(
        by_name["prior_degree"].mean_treated,
        frame.loc[frame["holder"] == 1, "prior_degree"].mean(),
    )


def test_what_works_clearinghouse_bands():
    assert wwc_flag(0.05) == "satisfies"
    assert wwc_flag(-0.1) == "requires adjustment"
    assert wwc_flag(0.25) == "requires adjustment"
    assert wwc_flag(0.2501) == "not comparable"


def test_overlap_reports_trimming_and_the_kish_effective_size_of_the_comparison_group():
    frame, _ = simulate_selection(3000, seed=6)
    result = compare_groups(
        frame,
        outcome="y",
        treatment="holder",
        covariates=COVARIATES,
        method="ipw",
        trim=(0.2, 0.8),
    )
    overlap = result.overlap
    assert overlap is not None
    assert overlap.n_trimmed > 0
    assert result.n_treated + result.n_control + overlap.n_trimmed == len(frame)
    assert overlap.common_support_low >= overlap.propensity_min_treated
    assert 0 < overlap.effective_n_control < result.n_control
    assert overlap.effective_n_treated == result.n_treated  # ATT: holders weigh 1
    assert_allclose(kish_effective_n(np.array([1.0, 1.0, 2.0])), 16 / 6)


def test_to_dict_is_json_serialisable_with_the_documented_keys():
    frame, _ = simulate_selection(600, seed=7)
    frame.loc[:9, "y"] = np.nan
    result = compare_groups(frame, outcome="y", treatment="holder", covariates=COVARIATES)
    payload = json.loads(json.dumps(result.to_dict()))
    for key in ("method", "estimand", "estimate", "ci_low", "ci_high", "p_value"):
        assert key in payload
    assert payload["n_treated"] + payload["n_control"] == 590
    assert payload["n_missing_outcome"] == 10
    assert set(payload["balance"]["age"]) >= {"smd_before", "smd_after"}
    assert "effective_n_control" in payload["overlap"]


# --- refusals: each names the problem in one sentence ---------------------------------


def refused(frame: pd.DataFrame, match: str, **options) -> None:
    arguments = {"outcome": "y", "treatment": "holder", "covariates": COVARIATES} | options
    with pytest.raises(AnalysisRefused, match=match):
        compare_groups(frame, **arguments)


def test_refuses_perfect_separation_by_a_category_and_names_it():
    frame, _ = simulate_selection(600, seed=9)
    frame.loc[frame["field"] == "science", "holder"] = 1
    refused(frame, r"perfect separation.*field=science")


def test_refuses_perfect_separation_by_a_continuous_covariate():
    frame, _ = simulate_selection(600, seed=9)
    frame["holder"] = (frame["age"] > 30).astype(int)
    refused(frame, "perfect separation")


def test_refuses_a_constant_covariate():
    frame, _ = simulate_selection(300, seed=1)
    frame["country"] = "ES"
    refused(frame, "'country' has the same value", covariates=["age", "country"])


def test_refuses_missing_covariate_values_naming_the_column_and_count():
    frame, _ = simulate_selection(300, seed=1)
    frame.loc[:6, "age"] = np.nan
    refused(frame, "'age' is missing for 7 of 300 rows")


def test_refuses_collinear_covariates():
    frame, _ = simulate_selection(300, seed=1)
    frame["age_in_months"] = frame["age"] * 12
    refused(frame, "collinear", covariates=["age", "age_in_months"])


def test_refuses_a_group_smaller_than_the_minimum():
    frame, _ = simulate_selection(300, seed=1)
    frame = pd.concat([frame[frame["holder"] == 0], frame[frame["holder"] == 1].head(12)])
    refused(frame, "12 holders .* at least 30")


def test_refuses_when_the_outcome_is_missing_for_everyone():
    frame, _ = simulate_selection(300, seed=1)
    frame["y"] = np.nan
    refused(frame, "missing for every graduate")


@pytest.mark.parametrize(("values", "match"), [([0, 1, 2], "only 0/1"), ([0, 1, None], "missing")])
def test_refuses_a_treatment_that_is_not_binary_or_is_missing(values, match):
    frame, _ = simulate_selection(300, seed=1)
    frame["holder"] = pd.Series(np.resize(values, len(frame)), dtype="Float64")
    refused(frame, match)


def test_refuses_when_trimming_removes_everyone_or_shrinks_a_group_too_far():
    frame, _ = simulate_selection(400, seed=1)
    refused(frame, "outside the propensity-score trim bounds", trim=(0.999, 1.0))
    refused(frame, "after trimming", trim=(0.3, 0.33))


def test_refuses_propensity_ranges_that_do_not_intersect():
    # Unreachable through a converged logit (it would be separation), kept as a guard.
    with pytest.raises(AnalysisRefused, match="do not overlap at all"):
        _check_ranges_intersect(np.array([0.1, 0.2, 0.7, 0.8]), np.array([0, 0, 1, 1], bool))


def test_refuses_an_adjusted_comparison_without_covariates():
    frame, _ = simulate_selection(300, seed=1)
    refused(frame, "at least one baseline covariate", covariates=[])


def test_an_outcome_perfectly_predicted_within_a_group_uses_a_linear_model_and_says_so():
    frame, _ = simulate_selection(600, seed=12, binary=True)
    frame.loc[frame["holder"] == 0, "y"] = (frame["prior_degree"] == 1).astype(int)
    for method in ("regression", "aipw"):
        result = compare_groups(
            frame, outcome="y", treatment="holder", covariates=COVARIATES, method=method
        )
        assert math.isfinite(result.estimate) and result.ci_low < result.ci_high
        assert any("linear probability" in note for note in result.notes)
        assert result.to_dict()["notes"] == list(result.notes)
    untouched, _ = simulate_selection(600, seed=12, binary=True)
    clean = compare_groups(untouched, outcome="y", treatment="holder", covariates=COVARIATES)
    assert clean.notes == ()
