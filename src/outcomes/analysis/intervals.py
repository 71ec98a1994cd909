"""Confidence intervals for rates, differences of rates, quantiles, NPS and means.

Every function is vectorised: it accepts scalars or numpy arrays (one value per group) and
returns arrays of the same shape, so a metrics panel over thousands of groups costs a handful
of numpy operations. Undefined intervals (no observations) come back as NaN, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import stats

ArrayLike: TypeAlias = npt.ArrayLike
FloatArray: TypeAlias = npt.NDArray[np.float64]

WILSON = "Wilson score"
NEWCOMB = "Newcomb hybrid Wilson score (method 10)"
ORDER_STATISTICS = "distribution-free order statistics (binomial)"
NPS_MULTINOMIAL = "normal approximation, multinomial variance"
STUDENT_T = "Student t"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval, sample size and the method's name."""

    estimate: float
    ci_low: float
    ci_high: float
    n: float
    method: str
    confidence: float = 0.95

    @property
    def width(self) -> float:
        """Width of the interval."""
        return self.ci_high - self.ci_low

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the closed interval."""
        return bool(self.ci_low <= value <= self.ci_high)


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _floats(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : array_like
        Counts per group; ``trials`` may be non-integer (an effective sample size).
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    (low, high) : tuple of ndarray
        NaN where ``trials`` is 0.

    Notes
    -----
    Wilson, E. B. (1927), JASA 22:209–212; recommended by Newcomb (1998) and by Brown, Cai &
    DasGupta (2001), Statistical Science 16:101–133. Identical to statsmodels'
    ``proportion_confint(method="wilson")``.
    """
    x = _floats(successes)
    n = _floats(trials)
    z = _z(confidence)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def newcomb_interval(
    successes_1: ArrayLike,
    trials_1: ArrayLike,
    successes_2: ArrayLike,
    trials_2: ArrayLike,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Difference of two independent proportions ``p1 - p2`` with Newcomb's hybrid score CI.

    Returns
    -------
    (difference, low, high) : tuple of ndarray

    Notes
    -----
    Newcomb, R. G. (1998), "Interval estimation for the difference between independent
    proportions: comparison of eleven methods", Statistics in Medicine 17:873–890, method 10:
    ``low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``
    where ``(l_i, u_i)`` are the Wilson limits of each proportion.
    """
    x1, n1, x2, n2 = (_floats(v) for v in (successes_1, trials_1, successes_2, trials_2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = x1 / n1
        p2 = x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    difference = p1 - p2
    low = difference - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high


def difference_of_proportions(
    successes_1: int, trials_1: int, successes_2: int, trials_2: int, confidence: float = 0.95
) -> Estimate:
    """Scalar convenience: ``p1 - p2`` as an :class:`Estimate` with Newcomb's interval."""
    difference, low, high = newcomb_interval(
        successes_1, trials_1, successes_2, trials_2, confidence
    )
    return Estimate(
        float(difference),
        float(low),
        float(high),
        float(trials_1 + trials_2),
        NEWCOMB,
        confidence,
    )


def order_statistic_ranks(
    n: ArrayLike, q: float, confidence: float = 0.95
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """1-based ranks ``(j, k)`` such that ``[X_(j), X_(k)]`` covers the ``q`` quantile.

    Notes
    -----
    The number of observations below the population quantile is Binomial(n, q), so
    ``P(X_(j) <= xi_q < X_(k)) = F(k - 1) - F(j - 1) >= confidence`` with
    ``j = F^-1(alpha/2)`` and ``k = F^-1(1 - alpha/2) + 1`` (Conover, *Practical Nonparametric
    Statistics*, 3rd ed., §3.2; the same interval as scipy's ``quantile_test``). In small
    samples the ranks are clipped to ``[1, n]``, so the interval is then the sample range and
    its coverage is below the nominal level.
    """
    sizes = _floats(n)
    alpha = 1 - confidence
    j = stats.binom.ppf(alpha / 2, sizes, q)
    k = stats.binom.ppf(1 - alpha / 2, sizes, q) + 1
    j = np.clip(np.nan_to_num(j, nan=1.0), 1, np.maximum(sizes, 1))
    k = np.clip(np.nan_to_num(k, nan=1.0), 1, np.maximum(sizes, 1))
    return j.astype(np.int64), k.astype(np.int64)


def grouped_quantiles(
    sorted_values: FloatArray,
    starts: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    q: float,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Quantile and its order-statistic CI for many groups of one sorted array.

    Parameters
    ----------
    sorted_values : ndarray
        Values sorted by group, then ascending within group.
    starts, sizes : ndarray
        Offset of each group's first value and the group's size.
    q : float
        Quantile in (0, 1).

    Returns
    -------
    (estimate, low, high) : tuple of ndarray
        The estimate interpolates linearly between order statistics (Hyndman & Fan type 7,
        numpy's default); NaN for empty groups.
    """
    sizes_f = sizes.astype(np.float64)
    empty = sizes == 0
    position = (np.maximum(sizes_f, 1) - 1) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(sizes - 1, 0))
    fraction = position - below
    last = max(len(sorted_values) - 1, 0)
    padded = sorted_values if len(sorted_values) else np.array([np.nan])
    lower_value = padded[np.minimum(starts + below, last)]
    upper_value = padded[np.minimum(starts + above, last)]
    estimate = lower_value + fraction * (upper_value - lower_value)
    j, k = order_statistic_ranks(sizes, q, confidence)
    low = padded[np.minimum(starts + j - 1, last)]
    high = padded[np.minimum(starts + k - 1, last)]
    return (
        np.where(empty, np.nan, estimate),
        np.where(empty, np.nan, low),
        np.where(empty, np.nan, high),
    )


def quantile_interval(values: ArrayLike, q: float, confidence: float = 0.95) -> Estimate:
    """A sample quantile with its distribution-free CI; NaN values are ignored."""
    data = _floats(values).ravel()
    data = np.sort(data[~np.isnan(data)])
    n = np.array([len(data)], dtype=np.int64)
    estimate, low, high = grouped_quantiles(data, np.array([0], dtype=np.int64), n, q, confidence)
    return Estimate(
        float(estimate[0]), float(low[0]), float(high[0]), float(n[0]), ORDER_STATISTICS, confidence
    )


def nps_interval(
    promoters: ArrayLike, detractors: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Net Promoter Score (share of promoters minus share of detractors, from -1 to 1) with CI.

    Notes
    -----
    The counts of promoters, passives and detractors are multinomial, so
    ``var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2) / n`` (e.g. Rocks, 2016, "Confidence
    intervals for the Net Promoter Score"). Limits are clipped to ``[-1, 1]``.
    """
    promoter_count, detractor_count, size = (_floats(v) for v in (promoters, detractors, n))
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_promoter = promoter_count / size
        p_detractor = detractor_count / size
        score = p_promoter - p_detractor
        se = np.sqrt((p_promoter + p_detractor - score**2) / size)
    low = np.where(size > 0, np.clip(score - z * se, -1.0, 1.0), np.nan)
    high = np.where(size > 0, np.clip(score + z * se, -1.0, 1.0), np.nan)
    return np.where(size > 0, score, np.nan), low, high


def mean_t_interval(
    mean: ArrayLike, sd: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Student-t interval for a mean from its mean, sample SD (ddof=1) and n; NaN for n < 2."""
    centre, spread, size = (_floats(v) for v in (mean, sd, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(size - 1, 1))
        half = t * spread / np.sqrt(size)
    defined = size >= 2
    return np.where(defined, centre - half, np.nan), np.where(defined, centre + half, np.nan)
