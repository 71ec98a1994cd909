"""Non-response: who answered, raking weights to population margins, weighted rates.

HESA tested weighting its Graduate Outcomes survey and found little gain, so weighted results
are always shown *next to* unweighted ones, with the design effect and effective n.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes.analysis.intervals import FloatArray, wilson_interval
from outcomes.errors import AnalysisRefused

DEFAULT_CATEGORICAL = ("programme", "cohort", "gender", "prior_education", "baseline_employment")
DEFAULT_NUMERIC = ("age", "baseline_salary")
EFFECTIVE_N_WILSON = "Wilson score on the Kish effective sample size"


@dataclass(frozen=True)
class AttritionTable:
    """Respondents vs non-respondents on record-known variables, with standardised differences.

    ``rows`` columns: variable, level ("mean" for numeric variables), respondents,
    non_respondents (share of the group, or mean), std_difference (respondents minus
    non-respondents, in pooled SD units).
    """

    rows: pd.DataFrame
    n_respondents: int
    n_non_respondents: int

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame (a copy)."""
        return self.rows.copy()

    def imbalanced(self, threshold: float = 0.25) -> pd.DataFrame:
        """Rows whose absolute standardised difference exceeds ``threshold`` (WWC: 0.25 SD)."""
        return self.rows[self.rows["std_difference"].abs() > threshold].copy()


def attrition_table(
    frame: pd.DataFrame,
    *,
    responded: str = "responded",
    categorical: Sequence[str] | None = None,
    numeric: Sequence[str] | None = None,
) -> AttritionTable:
    """Compare respondents with non-respondents on what the credential records know.

    Parameters
    ----------
    frame : DataFrame
        The graduates invited to one wave, one row each.
    responded : str
        Boolean column: complete response.
    categorical, numeric : sequence of str, optional
        Variables to compare; by default those of :data:`DEFAULT_CATEGORICAL` and
        :data:`DEFAULT_NUMERIC` present in ``frame``. Missing values form a "missing" level /
        are left out of means.

    Returns
    -------
    AttritionTable

    Notes
    -----
    Standardised differences as in Austin (2009), Statistics in Medicine 28:3083–3107:
    ``(p1 - p0) / sqrt((p1(1-p1) + p0(1-p0)) / 2)`` for each level and
    ``(m1 - m0) / sqrt((s1² + s0²) / 2)`` for numeric variables.
    """
    categorical = (
        [c for c in DEFAULT_CATEGORICAL if c in frame] if categorical is None else list(categorical)
    )
    numeric = [c for c in DEFAULT_NUMERIC if c in frame] if numeric is None else list(numeric)
    is_respondent = frame[responded].fillna(False).to_numpy(dtype=bool)
    n1, n0 = int(is_respondent.sum()), int((~is_respondent).sum())
    if n1 == 0 or n0 == 0:
        raise AnalysisRefused(
            "Respondents cannot be compared with non-respondents because one of the two groups "
            "is empty ({respondents} respondents, {non_respondents} non-respondents).",
            respondents=n1,
            non_respondents=n0,
        )
    records: list[dict[str, object]] = []
    for variable in categorical:
        levels = frame[variable].astype("string").fillna("missing")
        shares = pd.crosstab(levels, is_respondent, normalize="columns")
        for level, share in shares.iterrows():
            p1, p0 = float(share.get(True, 0.0)), float(share.get(False, 0.0))
            spread = np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
            difference = (p1 - p0) / spread if spread > 0 else 0.0
            records.append(
                {"variable": variable, "level": str(level), "respondents": p1,
                 "non_respondents": p0, "std_difference": difference}
            )  # fmt: skip
    for variable in numeric:
        values = pd.to_numeric(frame[variable], errors="coerce")
        m1, m0 = values[is_respondent].mean(), values[~is_respondent].mean()
        s1, s0 = values[is_respondent].std(), values[~is_respondent].std()
        spread = np.sqrt((s1**2 + s0**2) / 2)
        difference = (m1 - m0) / spread if spread > 0 else 0.0
        records.append(
            {"variable": variable, "level": "mean", "respondents": float(m1),
             "non_respondents": float(m0), "std_difference": float(difference)}
        )  # fmt: skip
    rows = pd.DataFrame.from_records(
        records, columns=["variable", "level", "respondents", "non_respondents", "std_difference"]
    )
    return AttritionTable(rows, n1, n0)


def kish_design_effect(weights: FloatArray) -> float:
    """Kish's design effect from unequal weights: ``n Σw² / (Σw)² = 1 + CV²``."""
    w = np.asarray(weights, dtype=np.float64)
    return float(len(w) * np.sum(w * w) / np.sum(w) ** 2)


def effective_sample_size(weights: FloatArray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``."""
    w = np.asarray(weights, dtype=np.float64)
    return float(np.sum(w) ** 2 / np.sum(w * w))


@dataclass(frozen=True)
class RakingResult:
    """Raked weights (aligned with the sample's rows) and how the fit went."""

    weights: pd.Series
    iterations: int
    converged: bool
    max_margin_error: float
    trimmed: int
    trim_ratio: float | None

    @property
    def max_weight_ratio(self) -> float:
        """Largest weight as a multiple of the mean weight."""
        return float(self.weights.max() / self.weights.mean())

    @property
    def cap_met(self) -> bool:
        """Whether the final weights respect the trimming cap (always true without one).

        False when the margins themselves force larger weights (e.g. a category whose
        respondents are few must carry a large average weight); the margins win, and the
        report should show ``max_weight_ratio``.
        """
        return self.trim_ratio is None or self.max_weight_ratio <= self.trim_ratio * 1.001

    @property
    def design_effect(self) -> float:
        """Kish design effect of the final weights."""
        return kish_design_effect(self.weights.to_numpy(dtype=np.float64))

    @property
    def effective_n(self) -> float:
        """Kish effective sample size of the final weights."""
        return effective_sample_size(self.weights.to_numpy(dtype=np.float64))


def population_margins(population: pd.DataFrame, columns: Sequence[str]) -> dict[str, pd.Series]:
    """Counts of each level of each column in the population (all graduates of the wave)."""
    return {column: population[column].value_counts(dropna=False) for column in columns}


def _codes_and_targets(
    sample: pd.DataFrame, margins: Mapping[str, pd.Series | Mapping[object, float]]
) -> tuple[list[np.ndarray], list[FloatArray]]:
    codes, targets = [], []
    totals = {name: float(pd.Series(m).sum()) for name, m in margins.items()}
    reference = next(iter(totals.values()))
    if any(abs(t - reference) > 1e-6 * max(reference, 1) for t in totals.values()):
        raise AnalysisRefused(
            f"The population margins disagree on the population size ({totals}); give every "
            "margin as counts of the same population, or every margin as shares."
        )
    for name, margin in margins.items():
        target = pd.Series(margin, dtype=np.float64)
        target = target[target > 0]
        if sample[name].isna().any():
            raise AnalysisRefused(
                f"Some respondents have no value for {name}, so they cannot be weighted to "
                "its population margin."
            )
        level_codes = pd.Index(target.index).get_indexer(sample[name])
        if (level_codes < 0).any():
            stray = sample[name][level_codes < 0].iloc[0]
            raise AnalysisRefused(
                f"Respondents have {name} = {stray!r}, which the population margin for {name} "
                "does not contain."
            )
        present = np.bincount(level_codes, minlength=len(target))
        if (present == 0).any():
            empty = target.index[int(np.flatnonzero(present == 0)[0])]
            raise AnalysisRefused(
                f"No respondent has {name} = {empty!r}, so the sample cannot be weighted to that "
                "margin; merge the category with a neighbouring one or drop this margin."
            )
        codes.append(level_codes)
        targets.append(target.to_numpy())
    return codes, targets


def _ipf(
    weights: FloatArray,
    codes: list[np.ndarray],
    targets: list[FloatArray],
    tolerance: float,
    max_iterations: int,
) -> tuple[FloatArray, int, float]:
    w = weights.copy()
    error = np.inf
    for iteration in range(1, max_iterations + 1):
        for level_codes, target in zip(codes, targets, strict=True):
            current = np.bincount(level_codes, weights=w, minlength=len(target))
            w *= (target / current)[level_codes]
        error = max(
            float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) / t - 1)))
            for c, t in zip(codes, targets, strict=True)
        )
        if error < tolerance:
            return w, iteration, error
    return w, max_iterations, error


def rake_weights(
    sample: pd.DataFrame,
    margins: Mapping[str, pd.Series | Mapping[object, float]],
    *,
    base_weights: str | None = None,
    tolerance: float = 1e-6,
    max_iterations: int = 200,
    trim_ratio: float | None = 5.0,
    max_trim_rounds: int = 20,
) -> RakingResult:
    """Rake respondent weights to population margins (iterative proportional fitting).

    Parameters
    ----------
    sample : DataFrame
        Respondents, one row each, with a column per margin.
    margins : mapping
        Column → population count (or share) of each level, e.g. from
        :func:`population_margins`. Levels with a zero target are ignored.
    base_weights : str, optional
        Column of design/base weights; equal weights by default.
    tolerance : float
        Stop when every margin is matched within this relative error.
    max_iterations : int
        Cap on raking sweeps (one sweep adjusts every margin once).
    trim_ratio : float or None
        Cap weights at this multiple of the mean weight, then re-rake; repeated up to
        ``max_trim_rounds`` times. ``None`` disables trimming.

    Returns
    -------
    RakingResult

    Raises
    ------
    AnalysisRefused
        When a margin category has no respondents, respondents fall outside the margins, or
        the margins disagree on the population size.

    Notes
    -----
    Deming & Stephan (1940), Annals of Mathematical Statistics 11:427–444; trimming as in
    Battaglia et al. (2009), Survey Practice 2(5) ("trim and re-rake"). Written by hand
    rather than adding a dependency: the candidates on PyPI (``ipfn``, ``weightipy``,
    ``balance``, ``samplics``) either lack trimming or bring heavy dependency trees, and the
    algorithm is a dozen lines of numpy (checked against a Poisson log-linear fit in tests).
    """
    if not margins:
        raise AnalysisRefused("Raking needs at least one population margin.")
    if len(sample) == 0:
        raise AnalysisRefused("There are no respondents to weight.")
    codes, targets = _codes_and_targets(sample, margins)
    start = (
        np.ones(len(sample))
        if base_weights is None
        else pd.to_numeric(sample[base_weights]).to_numpy(dtype=np.float64)
    )
    w, iterations, error = _ipf(start, codes, targets, tolerance, max_iterations)
    trimmed = np.zeros(len(w), dtype=bool)
    if trim_ratio is not None:
        for _ in range(max_trim_rounds):
            cap = trim_ratio * w.mean()
            over = w > cap * (1 + tolerance)
            if not over.any():
                break
            trimmed |= over
            total = w.sum()
            w = np.minimum(w, cap)
            # Hand the trimmed excess to the untrimmed units, then restore the margins.
            w[~over] *= (total - w[over].sum()) / w[~over].sum()
            w, more, error = _ipf(w, codes, targets, tolerance, max_iterations)
            iterations += more
    return RakingResult(
        weights=pd.Series(w, index=sample.index, name="weight"),
        iterations=iterations,
        converged=bool(error < tolerance),
        max_margin_error=float(error),
        trimmed=int(trimmed.sum()),
        trim_ratio=trim_ratio,
    )


@dataclass(frozen=True)
class WeightedRate:
    """A rate unweighted and weighted, with Wilson intervals (effective-n for the weighted)."""

    n: int
    successes: int
    unweighted: float
    unweighted_low: float
    unweighted_high: float
    weighted: float
    weighted_low: float
    weighted_high: float
    design_effect: float
    effective_n: float
    method: str = EFFECTIVE_N_WILSON


def weighted_rate(indicator: Sequence[bool] | np.ndarray | pd.Series, weights: FloatArray,
                  confidence: float = 0.95) -> WeightedRate:  # fmt: skip
    """A rate with and without weights, the weighted CI on Kish's effective n.

    Notes
    -----
    The weighted proportion ``p_w = Σ w y / Σ w`` gets a Wilson interval computed as if from
    ``n_eff = (Σw)² / Σw²`` trials with ``p_w · n_eff`` successes (Kish 1965, *Survey
    Sampling*; the effective-sample-size Wilson interval of Korn & Graubard 1998 without the
    degrees-of-freedom adjustment).
    """
    y = np.asarray(indicator, dtype=bool)
    w = np.asarray(weights, dtype=np.float64)
    if len(y) != len(w):
        raise ValueError("indicator and weights must have the same length")
    if len(y) == 0:
        raise AnalysisRefused("A rate needs at least one person; this group is empty.")
    successes = int(y.sum())
    low, high = wilson_interval(successes, len(y), confidence)
    p_w = float(np.sum(w * y) / np.sum(w))
    n_eff = effective_sample_size(w)
    w_low, w_high = wilson_interval(p_w * n_eff, n_eff, confidence)
    return WeightedRate(
        n=len(y),
        successes=successes,
        unweighted=successes / len(y),
        unweighted_low=float(low),
        unweighted_high=float(high),
        weighted=p_w,
        weighted_low=float(w_low),
        weighted_high=float(w_high),
        design_effect=kish_design_effect(w),
        effective_n=n_eff,
    )


def weighted_rates(
    frame: pd.DataFrame,
    indicator: str,
    weights: str,
    group_by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`weighted_rate` for each group, one row per group, unweighted next to weighted.

    Rows where ``indicator`` is missing are left out (the rate's denominator is those with a
    known value).
    """
    data = frame[frame[indicator].notna()]
    y = data[indicator].astype(bool).to_numpy(dtype=np.float64)
    w = pd.to_numeric(data[weights]).to_numpy(dtype=np.float64)
    work = pd.DataFrame({"y": y, "w": w, "wy": w * y, "ww": w * w}, index=data.index)
    for column in group_by:
        work[column] = data[column]
    grouped = work.groupby(list(group_by), sort=True, observed=True) if group_by else None
    sums = grouped.sum() if grouped is not None else work[["y", "w", "wy", "ww"]].sum().to_frame().T
    n = grouped.size() if grouped is not None else pd.Series([len(work)])
    result = pd.DataFrame(index=sums.index)
    result["n"] = n.to_numpy()
    result["successes"] = sums["y"].to_numpy()
    result["unweighted"] = result["successes"] / result["n"]
    low, high = wilson_interval(result["successes"], result["n"], confidence)
    result["unweighted_low"], result["unweighted_high"] = low, high
    result["weighted"] = (sums["wy"] / sums["w"]).to_numpy()
    result["effective_n"] = (sums["w"] ** 2 / sums["ww"]).to_numpy()
    result["design_effect"] = result["n"] / result["effective_n"]
    low, high = wilson_interval(
        result["weighted"] * result["effective_n"], result["effective_n"], confidence
    )
    result["weighted_low"], result["weighted_high"] = low, high
    result["method"] = EFFECTIVE_N_WILSON
    return result.reset_index(drop=not group_by)
