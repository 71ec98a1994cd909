"""Change over time: rates by award cohort, pre/post within person, difference-in-differences,
and programme-versus-programme comparisons with a named multiple-testing correction."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from outcomes.analysis.multiple import adjust_p_values
from outcomes.errors import AnalysisRefused, literal

Z_95 = float(stats.norm.ppf(0.975))
MIN_CLUSTERS = 5
CORRECTIONS = {"holm": ("holm", "Holm"), "bh": ("fdr_bh", "Benjamini–Hochberg")}


def _binary_values(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise AnalysisRefused(f"The column '{column}' is not in the data.")
    values = frame[column].dropna()
    if not values.isin([0, 1]).all():
        raise AnalysisRefused(f"The outcome '{column}' must hold only 0 and 1 for a rate.")
    return values.astype(float)


@dataclass(frozen=True)
class CohortRate:
    """A rate in one cohort with its Wilson 95 % interval."""

    cohort: object
    n: int
    successes: int
    rate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class CohortRates:
    """Rates by cohort (in cohort order)."""

    outcome: str
    rows: tuple[CohortRate, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort: cohort, n, successes, rate, ci_low, ci_high."""
        return pd.DataFrame([vars(row) for row in self.rows])


def rate_by_cohort(frame: pd.DataFrame, outcome: str, cohort: str) -> CohortRates:
    """Proportion of 1s in ``outcome`` per ``cohort`` with Wilson score 95 % intervals.

    Parameters
    ----------
    frame : DataFrame
        One row per graduate; missing outcomes are left out of that cohort's base.
    outcome : str
        0/1 column (e.g. employed).
    cohort : str
        Award cohort column (e.g. award year).

    Returns
    -------
    CohortRates

    Notes
    -----
    Wilson (1927) interval via ``statsmodels.stats.proportion.proportion_confint``.
    """
    values = _binary_values(frame, outcome)
    groups = frame.loc[values.index, cohort]
    rows = []
    for key, group in values.groupby(groups, sort=True):
        n, successes = len(group), int(group.sum())
        low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
        rows.append(CohortRate(key, n, successes, successes / n, float(low), float(high)))
    return CohortRates(outcome, tuple(rows))


@dataclass(frozen=True)
class PrePostResult:
    """Within-person change from baseline to follow-up.

    Attributes
    ----------
    kind : str
        ``binary`` (difference in proportions, McNemar test) or ``continuous`` (paired t).
    n_pairs : int
        People with both measurements; ``n_incomplete`` had only one (left out).
    baseline_mean, follow_up_mean, difference, ci_low, ci_high, p_value : float
        Means (proportions for binary), follow-up minus baseline with 95 % CI, p-value.
    test : str
        Name of the test behind the p-value.
    """

    kind: str
    n_pairs: int
    n_incomplete: int
    baseline_mean: float
    follow_up_mean: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str


def pre_post(frame: pd.DataFrame, baseline: str, follow_up: str) -> PrePostResult:
    """Paired change between a baseline and a follow-up measurement of the same people.

    Binary outcomes (every value 0/1): McNemar's test (exact binomial when fewer than 25
    discordant pairs, otherwise chi-square with continuity correction) and the paired
    difference in proportions with the Bonett & Price (2012, *J. Educ. Behav. Stat.*
    37:479) adjusted Wald interval. Continuous outcomes (e.g. log salary): paired t-test
    (``scipy.stats.ttest_rel``) and its interval for the mean difference.

    Raises
    ------
    AnalysisRefused
        With fewer than two complete pairs.
    """
    for column in (baseline, follow_up):
        if column not in frame.columns:
            raise AnalysisRefused(f"The column '{column}' is not in the data.")
    pairs = frame[[baseline, follow_up]].dropna()
    n = len(pairs)
    incomplete = int(frame[[baseline, follow_up]].notna().any(axis=1).sum()) - n
    if n < 2:
        raise AnalysisRefused(
            f"Only {{n}} graduates have both '{literal(baseline)}' and '{literal(follow_up)}', "
            "too few to compare.",
            n=n,
        )
    before = pairs[baseline].to_numpy(dtype=np.float64)
    after = pairs[follow_up].to_numpy(dtype=np.float64)
    if np.isin(before, (0, 1)).all() and np.isin(after, (0, 1)).all():
        gained = int(((before == 0) & (after == 1)).sum())  # discordant: 0 -> 1
        lost = int(((before == 1) & (after == 0)).sum())
        both = int(((before == 1) & (after == 1)).sum())
        neither = n - gained - lost - both
        exact = gained + lost < 25
        table = [[neither, gained], [lost, both]]
        p_value = float(mcnemar(table, exact=exact, correction=True).pvalue)
        p_gain, p_loss = (gained + 1) / (n + 2), (lost + 1) / (n + 2)
        adjusted = p_gain - p_loss
        half = Z_95 * math.sqrt((p_gain + p_loss - adjusted**2) / (n + 2))
        return PrePostResult(
            "binary",
            n,
            incomplete,
            float(before.mean()),
            float(after.mean()),
            (gained - lost) / n,
            max(adjusted - half, -1.0),
            min(adjusted + half, 1.0),
            p_value,
            "McNemar exact" if exact else "McNemar chi-square",
        )
    test = stats.ttest_rel(after, before)
    interval = test.confidence_interval(0.95)
    return PrePostResult(
        "continuous",
        n,
        incomplete,
        float(before.mean()),
        float(after.mean()),
        float((after - before).mean()),
        float(interval.low),
        float(interval.high),
        float(test.pvalue),
        "paired t",
    )


@dataclass(frozen=True)
class DidResult:
    """Difference-in-differences from ``y ~ group + post + group:post``.

    Attributes
    ----------
    estimate, std_error, ci_low, ci_high, p_value : float
        The interaction coefficient with cluster-robust inference (t with clusters − 1 df).
    cell_means : dict
        Mean outcome for ``(group, post)`` in {0,1}²; estimate equals
        ``(m11 − m10) − (m01 − m00)``.
    n : int
        Rows used (missing outcome, group, post or cluster dropped); ``n_clusters`` clusters.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_clusters: int
    cell_means: dict[tuple[int, int], float]


def did(
    frame: pd.DataFrame,
    outcome: str,
    group: str,
    post: str,
    cluster: str,
    *,
    min_clusters: int = MIN_CLUSTERS,
) -> DidResult:
    """Difference-in-differences for a programme launch or redesign.

    OLS of ``outcome`` on ``group``, ``post`` and their product with standard errors
    clustered by ``cluster`` (cohort or programme; ``statsmodels`` ``cov_type="cluster"``
    with groups taken from the same rows as the fit) and t inference on clusters − 1 df.

    Raises
    ------
    AnalysisRefused
        When ``group``/``post`` are not 0/1, a (group, post) cell is empty, or there are
        fewer than ``min_clusters`` clusters: cluster-robust standard errors need many
        clusters, and with a handful they are far too small (Cameron & Miller 2015,
        *J. Human Resources* 50:317), so the interval would be falsely narrow.
    """
    columns = [outcome, group, post, cluster]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise AnalysisRefused(f"The column '{missing[0]}' is not in the data.")
    data = frame[columns].dropna()  # groups are taken from these same rows below
    for column in (group, post):
        if not data[column].isin([0, 1]).all():
            raise AnalysisRefused(f"The column '{column}' must hold only 0 and 1.")
    cells = data.groupby([data[group].astype(int), data[post].astype(int)])[outcome].mean()
    if len(cells) < 4:
        raise AnalysisRefused(
            "Difference-in-differences needs outcomes for both groups before and after; "
            "at least one of the four cells is empty."
        )
    clusters = pd.factorize(data[cluster])[0]
    n_clusters = int(clusters.max()) + 1
    if n_clusters < min_clusters:
        raise AnalysisRefused(
            f"Only {n_clusters} clusters in '{cluster}'; cluster-robust standard errors need "
            f"at least {min_clusters} (with fewer they are too small and the interval "
            "misleadingly narrow)."
        )
    g = data[group].to_numpy(dtype=np.float64)
    p = data[post].to_numpy(dtype=np.float64)
    design = np.column_stack([np.ones(len(g)), g, p, g * p])
    result = sm.OLS(data[outcome].to_numpy(dtype=np.float64), design).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
    )
    low, high = result.conf_int(alpha=0.05)[3]
    return DidResult(
        float(result.params[3]),
        float(result.bse[3]),
        float(low),
        float(high),
        float(result.pvalues[3]),
        len(data),
        n_clusters,
        {(int(key[0]), int(key[1])): float(value) for key, value in cells.items()},
    )


@dataclass(frozen=True)
class PairComparison:
    """One programme pair: difference in rates (first minus second) with Newcombe CI."""

    first: object
    second: object
    n_first: int
    n_second: int
    rate_first: float
    rate_second: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True)
class ProgrammeComparisons:
    """All pairwise programme comparisons of a rate, with the correction used named."""

    outcome: str
    correction: str
    alpha: float
    pairs: tuple[PairComparison, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per pair."""
        return pd.DataFrame([vars(pair) for pair in self.pairs])


def compare_programmes(
    frame: pd.DataFrame,
    outcome: str,
    programme: str,
    *,
    correction: Literal["holm", "bh"] = "holm",
    alpha: float = 0.05,
) -> ProgrammeComparisons:
    """Compare a rate between every pair of programmes, correcting for multiple tests.

    Each pair gets the difference in proportions with Newcombe's (1998) hybrid score
    interval (unadjusted, 95 %) and a pooled two-proportion z-test; p-values are adjusted
    through :func:`outcomes.analysis.multiple.adjust_p_values` using Holm's step-down method
    (family-wise error, the default) or Benjamini–Hochberg (false discovery rate).

    Raises
    ------
    AnalysisRefused
        With fewer than two programmes.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be 'holm' or 'bh', not {correction!r}")
    values = _binary_values(frame, outcome)
    by_programme = {key: group for key, group in values.groupby(frame.loc[values.index, programme])}
    if len(by_programme) < 2:
        raise AnalysisRefused("Comparing programmes needs at least two programmes with data.")
    raw = []
    for first, second in itertools.combinations(sorted(by_programme, key=str), 2):
        a, b = by_programme[first], by_programme[second]
        ka, kb = int(a.sum()), int(b.sum())
        low, high = confint_proportions_2indep(
            ka, len(a), kb, len(b), method="newcomb", compare="diff"
        )
        pooled = (ka + kb) / (len(a) + len(b))
        # Everyone (or no one) succeeded in both programmes: nothing to test, p = 1.
        p_value = float(proportions_ztest([ka, kb], [len(a), len(b)])[1]) if 0 < pooled < 1 else 1.0
        raw.append((first, second, a, b, float(low), float(high), p_value))
    method, label = CORRECTIONS[correction]
    family = adjust_p_values([row[-1] for row in raw], method=method, alpha=alpha)  # type: ignore[arg-type]
    reject, adjusted = family.reject, family.adjusted
    pairs = tuple(
        PairComparison(
            first,
            second,
            len(a),
            len(b),
            float(a.mean()),
            float(b.mean()),
            float(a.mean() - b.mean()),
            low,
            high,
            p_value,
            float(p_adj),
            bool(rej),
        )
        for (first, second, a, b, low, high, p_value), p_adj, rej in zip(
            raw, adjusted, reject, strict=True
        )
    )
    return ProgrammeComparisons(outcome, label, alpha, pairs)
