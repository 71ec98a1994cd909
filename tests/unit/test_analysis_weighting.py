"""Attrition table, raking (checked against a Poisson log-linear fit), trimming, weighted rates."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from outcomes.analysis.weighting import (
    attrition_table,
    effective_sample_size,
    kish_design_effect,
    population_margins,
    rake_weights,
    weighted_rate,
    weighted_rates,
)
from outcomes.errors import AnalysisRefused


def graduates(seed: int = 1, n: int = 20_000) -> pd.DataFrame:
    """Planted non-response: masters answer far more often and are employed more often."""
    rng = np.random.default_rng(seed)
    education = rng.choice(["secondary", "bachelor", "master"], n, p=[0.3, 0.5, 0.2])
    programme = rng.choice(["P1", "P2", "P3"], n)
    answer_rate = pd.Series(education).map({"secondary": 0.2, "bachelor": 0.4, "master": 0.8})
    employ_rate = pd.Series(education).map({"secondary": 0.5, "bachelor": 0.7, "master": 0.9})
    return pd.DataFrame(
        {
            "programme": programme,
            "prior_education": education,
            "age": rng.normal(30, 6, n) + (education == "master") * 4,
            "responded": rng.random(n) < answer_rate.to_numpy(),
            "employed": rng.random(n) < employ_rate.to_numpy(),
        }
    )


def test_attrition_table_shows_the_planted_difference():
    frame = graduates()
    table = attrition_table(frame, categorical=["prior_education", "programme"], numeric=["age"])
    rows = table.to_frame().set_index(["variable", "level"])
    respondents = frame[frame["responded"]]
    share = (respondents["prior_education"] == "master").mean()
    assert rows.loc[("prior_education", "master"), "respondents"] == pytest.approx(share)
    assert rows.loc[("prior_education", "master"), "std_difference"] > 0.25
    assert abs(rows.loc[("programme", "P1"), "std_difference"]) < 0.1
    others = frame[~frame["responded"]]["age"]
    pooled = np.sqrt((respondents["age"].var() + others.var()) / 2)
    expected = (respondents["age"].mean() - others.mean()) / pooled
    assert rows.loc[("age", "mean"), "std_difference"] == pytest.approx(expected)
    assert ("prior_education", "master") in set(
        table.imbalanced().set_index(["variable", "level"]).index
    )
    assert table.n_respondents + table.n_non_respondents == len(frame)


def test_attrition_table_refuses_when_everyone_responded():
    frame = graduates(n=50).assign(responded=True)
    with pytest.raises(AnalysisRefused, match="one of the two groups is empty"):
        attrition_table(frame, categorical=["programme"], numeric=[])


def test_raking_matches_a_poisson_log_linear_fit():
    # Raking a 2-way table to its margins gives N_ab * r_a * c_b with matching margins, which is
    # the maximum-likelihood fit of a Poisson model with offset log(N_ab) and main effects
    # (Bishop, Fienberg & Holland 1975, ch. 3); fitted here with statsmodels GLM.
    frame = graduates(n=3000)
    sample = frame[frame["responded"]].reset_index(drop=True)
    margins = population_margins(frame, ["programme", "prior_education"])
    result = rake_weights(sample, margins, trim_ratio=None, tolerance=1e-10)
    assert result.converged
    cells = sample.groupby(["programme", "prior_education"]).size().rename("n").reset_index()
    raked = (
        pd.DataFrame({"w": result.weights, "programme": sample["programme"],
                      "prior_education": sample["prior_education"]})
        .groupby(["programme", "prior_education"])["w"].sum()
    )  # fmt: skip
    rows = margins["programme"].reindex(cells["programme"]).to_numpy()
    cols = margins["prior_education"].reindex(cells["prior_education"]).to_numpy()
    target = rows * cols / len(frame)  # any table with the population margins will do
    design = pd.get_dummies(cells[["programme", "prior_education"]], drop_first=True, dtype=float)
    design = sm.add_constant(design)
    fit = sm.GLM(target, design, family=sm.families.Poisson(), offset=np.log(cells["n"])).fit(
        tol=1e-12
    )
    expected = pd.Series(
        fit.fittedvalues.to_numpy(),
        index=pd.MultiIndex.from_frame(cells[["programme", "prior_education"]]),
    )
    assert_allclose(raked.reindex(expected.index), expected, rtol=1e-6)


def test_raked_weights_reproduce_every_margin_and_recover_the_planted_rate():
    frame = graduates()
    sample = frame[frame["responded"]]
    result = rake_weights(sample, population_margins(frame, ["programme", "prior_education"]))
    for column in ("programme", "prior_education"):
        weighted = result.weights.groupby(sample[column]).sum()
        assert_allclose(weighted, frame[column].value_counts().reindex(weighted.index), rtol=1e-5)
    truth = frame["employed"].mean()
    rate = weighted_rate(sample["employed"], result.weights.to_numpy())
    assert abs(rate.unweighted - truth) > 0.03  # non-response bias is visible unweighted
    assert rate.weighted_low <= truth <= rate.weighted_high
    assert rate.design_effect > 1 and rate.effective_n < rate.n


def test_trimming_caps_weights_and_re_rakes():
    frame = graduates(n=6000)
    sample = frame[frame["responded"]].copy()
    sample["base"] = np.random.default_rng(4).lognormal(0, 0.9, len(sample))
    margins = population_margins(frame, ["prior_education", "programme"])
    untrimmed = rake_weights(sample, margins, base_weights="base", trim_ratio=None)
    trimmed = rake_weights(sample, margins, base_weights="base", trim_ratio=4.0)
    assert untrimmed.max_weight_ratio > 4.0
    assert trimmed.trimmed > 0 and trimmed.cap_met and trimmed.converged
    assert trimmed.max_weight_ratio <= 4.0 * 1.001
    weighted = trimmed.weights.groupby(sample["prior_education"]).sum()
    expected = frame["prior_education"].value_counts().reindex(weighted.index)
    assert_allclose(weighted, expected, rtol=1e-5)
    assert trimmed.design_effect < untrimmed.design_effect


def test_a_cap_the_margins_cannot_allow_is_reported_not_hidden():
    # With one margin and equal base weights, each category's weight is fixed by the margin.
    frame = graduates(n=6000)
    sample = frame[frame["responded"]]
    result = rake_weights(sample, population_margins(frame, ["prior_education"]), trim_ratio=1.2)
    assert not result.cap_met
    assert result.max_weight_ratio > 1.2
    assert result.max_margin_error < 1e-6


def test_kish_design_effect_is_one_plus_squared_cv():
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    cv = weights.std() / weights.mean()  # population SD, as in Kish (1965)
    assert kish_design_effect(weights) == pytest.approx(1 + cv**2)
    assert effective_sample_size(weights) == pytest.approx(len(weights) / (1 + cv**2))


def test_margin_category_without_respondents_is_refused_in_plain_words():
    frame = graduates(n=2000)
    sample = frame[frame["responded"] & (frame["prior_education"] != "master")]
    with pytest.raises(AnalysisRefused, match="No respondent has prior_education = 'master'"):
        rake_weights(sample, population_margins(frame, ["prior_education"]))


def test_respondent_outside_the_margins_and_inconsistent_margins_are_refused():
    frame = graduates(n=2000)
    sample = frame[frame["responded"]]
    with pytest.raises(AnalysisRefused, match="does not contain"):
        rake_weights(sample, {"programme": {"P1": 10, "P2": 10}})
    with pytest.raises(AnalysisRefused, match="disagree on the population size"):
        rake_weights(sample, {"programme": {"P1": 10, "P2": 10, "P3": 10}, "prior_education":
                              {"secondary": 1, "bachelor": 1, "master": 1}})  # fmt: skip


def test_equal_weights_change_nothing():
    flags = np.array([True] * 30 + [False] * 70)
    rate = weighted_rate(flags, np.ones(100))
    assert rate.weighted == pytest.approx(rate.unweighted)
    assert (rate.weighted_low, rate.weighted_high) == pytest.approx(
        (rate.unweighted_low, rate.unweighted_high)
    )
    assert rate.design_effect == pytest.approx(1.0)


def test_weighted_rates_by_group_agree_with_single_group_calls():
    frame = graduates(n=4000)
    sample = frame[frame["responded"]].copy()
    sample["weight"] = rake_weights(sample, population_margins(frame, ["prior_education"])).weights
    table = weighted_rates(sample, "employed", "weight", ["programme"]).set_index("programme")
    for programme, part in sample.groupby("programme"):
        single = weighted_rate(part["employed"], part["weight"].to_numpy())
        assert table.loc[programme, "weighted"] == pytest.approx(single.weighted)
        assert table.loc[programme, "weighted_low"] == pytest.approx(single.weighted_low)
        assert table.loc[programme, "design_effect"] == pytest.approx(single.design_effect)
    overall = weighted_rates(sample, "employed", "weight")
    assert overall.loc[0, "n"] == len(sample)
