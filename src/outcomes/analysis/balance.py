"""Covariate balance and overlap diagnostics for adjusted comparisons.

Standardised mean differences (SMD) follow Austin (2009, *Statistics in Medicine* 28:3083):
the difference in (weighted) means divided by the pooled *unweighted* standard deviation
``sqrt((s_t^2 + s_c^2) / 2)``, so that before and after share one yardstick. Thresholds are
the What Works Clearinghouse's baseline-equivalence bands (WWC Procedures and Standards
Handbook v5.0): |SMD| <= 0.05 satisfies, 0.05-0.25 requires statistical adjustment, > 0.25
not comparable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

WWC_SATISFIES = 0.05
WWC_NOT_COMPARABLE = 0.25


def wwc_flag(smd: float) -> str:
    """What Works Clearinghouse band for an absolute standardised mean difference."""
    size = abs(smd)
    if size <= WWC_SATISFIES:
        return "satisfies"
    if size <= WWC_NOT_COMPARABLE:
        return "requires adjustment"
    return "not comparable"


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class CovariateBalance:
    """Balance of one expanded covariate between holders and the comparison group.

    Attributes
    ----------
    covariate : str
        Expanded covariate name (``"column=level"`` for a category's dummy).
    mean_treated, mean_control : float
        Unweighted means on the covariate's own scale (a dummy's mean is a proportion).
    smd_before : float
        Unweighted standardised mean difference (treated minus control).
    smd_after : float
        The same difference with the method's weights (see ``ComparisonResult``).
    """

    covariate: str
    mean_treated: float
    mean_control: float
    smd_before: float
    smd_after: float

    @property
    def flag(self) -> str:
        """WWC band of ``smd_after`` (``satisfies``/``requires adjustment``/``not comparable``)."""
        return wwc_flag(self.smd_after)

    def to_dict(self) -> dict[str, float | str | None]:
        """JSON-serialisable form (non-finite SMDs become ``None``)."""
        return {
            "mean_treated": self.mean_treated,
            "mean_control": self.mean_control,
            "smd_before": _finite_or_none(self.smd_before),
            "smd_after": _finite_or_none(self.smd_after),
            "flag": self.flag,
        }


def _weighted_mean(values: FloatArray, weights: FloatArray) -> FloatArray:
    return np.asarray(weights @ values / weights.sum(), dtype=np.float64)


def balance_table(
    names: tuple[str, ...],
    raw: FloatArray,
    treated: NDArray[np.bool_],
    weights: FloatArray | None,
) -> tuple[CovariateBalance, ...]:
    """Standardised mean differences before and after weighting, one row per covariate.

    Parameters
    ----------
    names : tuple of str
        Expanded covariate names, one per column of ``raw``.
    raw : ndarray, shape (n, k)
        Covariates on their own scale.
    treated : ndarray of bool
        Treatment indicator.
    weights : ndarray or None
        Per-row weights defining "after"; ``None`` makes after equal to before.

    Returns
    -------
    tuple of CovariateBalance
    """
    # Group moments as matrix-vector products: no copies of the n x k matrix per group.
    in_t = treated.astype(np.float64)
    in_c = 1.0 - in_t
    squares = raw * raw
    mean_t, mean_c = _weighted_mean(raw, in_t), _weighted_mean(raw, in_c)
    var_t = np.maximum(_weighted_mean(squares, in_t) - mean_t**2, 0.0)
    var_c = np.maximum(_weighted_mean(squares, in_c) - mean_c**2, 0.0)
    pooled_sd = np.sqrt((var_t + var_c) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        before = (mean_t - mean_c) / pooled_sd
        if weights is None:
            after = before
        else:
            after = (
                _weighted_mean(raw, weights * in_t) - _weighted_mean(raw, weights * in_c)
            ) / pooled_sd
    # A covariate constant within both groups has no SD; equal means are then balanced.
    before = np.where((pooled_sd == 0) & (mean_t == mean_c), 0.0, before)
    after = np.where((pooled_sd == 0) & (mean_t == mean_c), 0.0, after)
    return tuple(
        CovariateBalance(name, float(mt), float(mc), float(b), float(a))
        for name, mt, mc, b, a in zip(names, mean_t, mean_c, before, after, strict=True)
    )


def kish_effective_n(weights: FloatArray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (Kish 1965, *Survey Sampling*)."""
    total = float(weights.sum())
    squares = float((weights**2).sum())
    return total * total / squares if squares > 0 else 0.0


@dataclass(frozen=True)
class Overlap:
    """Propensity-score overlap between holders and the comparison group.

    Attributes
    ----------
    propensity_min_treated, propensity_max_treated : float
        Range of the fitted propensity score among holders (whole sample, before trimming).
    propensity_min_control, propensity_max_control : float
        The same among the comparison group.
    common_support_low, common_support_high : float
        Intersection of the two ranges.
    n_outside_common_support : int
        Rows whose score falls outside the common support (reported, not dropped).
    trim_low, trim_high : float or None
        Trimming bounds applied to the score (Crump et al. 2009 style), if any.
    n_trimmed_treated, n_trimmed_control : int
        Rows dropped by trimming, by group.
    effective_n_treated, effective_n_control : float
        Kish effective sample sizes of each group under the method's weights.
    """

    propensity_min_treated: float
    propensity_max_treated: float
    propensity_min_control: float
    propensity_max_control: float
    common_support_low: float
    common_support_high: float
    n_outside_common_support: int
    trim_low: float | None
    trim_high: float | None
    n_trimmed_treated: int
    n_trimmed_control: int
    effective_n_treated: float
    effective_n_control: float

    @property
    def n_trimmed(self) -> int:
        """Rows dropped by trimming in both groups."""
        return self.n_trimmed_treated + self.n_trimmed_control

    @property
    def common_support(self) -> tuple[float, float]:
        """``(low, high)`` bounds of the common support."""
        return (self.common_support_low, self.common_support_high)

    def to_dict(self) -> dict[str, float | int | list[float] | None]:
        """JSON-serialisable form."""
        out: dict[str, float | int | list[float] | None] = dict(asdict(self))
        out["common_support"] = list(self.common_support)
        out["n_trimmed"] = self.n_trimmed
        return out


def describe_overlap(
    propensity: FloatArray,
    treated: NDArray[np.bool_],
    trim: tuple[float, float] | None,
    kept: NDArray[np.bool_],
    weights: FloatArray | None,
) -> Overlap:
    """Summarise overlap from whole-sample scores, the trimming mask and the final weights."""
    e_t, e_c = propensity[treated], propensity[~treated]
    low = max(float(e_t.min()), float(e_c.min()))
    high = min(float(e_t.max()), float(e_c.max()))
    outside = int(((propensity < low) | (propensity > high)).sum())
    kept_treated = treated[kept]
    if weights is None:
        ess_t, ess_c = float(kept_treated.sum()), float((~kept_treated).sum())
    else:
        ess_t = kish_effective_n(weights[kept_treated])
        ess_c = kish_effective_n(weights[~kept_treated])
    return Overlap(
        propensity_min_treated=float(e_t.min()),
        propensity_max_treated=float(e_t.max()),
        propensity_min_control=float(e_c.min()),
        propensity_max_control=float(e_c.max()),
        common_support_low=low,
        common_support_high=high,
        n_outside_common_support=outside,
        trim_low=None if trim is None else trim[0],
        trim_high=None if trim is None else trim[1],
        n_trimmed_treated=int((treated & ~kept).sum()),
        n_trimmed_control=int((~treated & ~kept).sum()),
        effective_n_treated=ess_t,
        effective_n_control=ess_c,
    )
