"""Time to first job: Kaplan–Meier curves and Cox proportional-hazards models.

Durations are time from award to first job (any unit, e.g. months); the event column is 1
when a job was found and 0 when the graduate was still looking at last contact (right
censored). Built on ``statsmodels.duration`` (``SurvfuncRight``, ``survdiff``, ``PHReg``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from outcomes.errors import AnalysisRefused, literal

FloatArray = NDArray[np.float64]
Z_95 = float(stats.norm.ppf(0.975))


def _loglog_interval(survival: FloatArray, std_error: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Pointwise 95 % interval on the log(-log S) scale (Kalbfleisch & Prentice 2002, 1.3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = std_error / (survival * np.abs(np.log(survival)))
        lower = survival ** np.exp(Z_95 * scale)
        upper = survival ** np.exp(-Z_95 * scale)
    defined = (survival > 0) & (survival < 1)
    return np.where(defined, lower, survival), np.where(defined, upper, survival)


@dataclass(frozen=True)
class SurvivalCurve:
    """Kaplan–Meier estimate for one group.

    Attributes
    ----------
    group : object
        Group label (``"all"`` when no grouping column was given).
    n, n_events : int
        Graduates and first jobs observed.
    times, survival, lower, upper, at_risk : ndarray
        At each distinct event time: probability of still not having a job, its pointwise
        95 % log-log interval, and the number at risk just before that time.
    median, median_low, median_high : float
        Median time to first job and its 95 % interval (Brookmeyer–Crowley inversion with
        the cloglog transform, ``SurvfuncRight.quantile_ci``); NaN/inf when not reached.
    """

    group: object
    n: int
    n_events: int
    times: FloatArray
    survival: FloatArray
    lower: FloatArray
    upper: FloatArray
    at_risk: FloatArray
    median: float
    median_low: float
    median_high: float


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan–Meier curves per group, with a log-rank test when there are several groups."""

    curves: tuple[SurvivalCurve, ...]
    logrank_statistic: float | None
    logrank_p_value: float | None

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame for charting, starting each curve at time 0 with survival 1.

        Columns: group, time, survival, employed (1 − survival), lower, upper (survival
        interval), employed_lower, employed_upper, at_risk.
        """
        parts = []
        for curve in self.curves:
            parts.append(
                pd.DataFrame(
                    {
                        "group": curve.group,
                        "time": np.concatenate([[0.0], curve.times]),
                        "survival": np.concatenate([[1.0], curve.survival]),
                        "lower": np.concatenate([[1.0], curve.lower]),
                        "upper": np.concatenate([[1.0], curve.upper]),
                        "at_risk": np.concatenate([[curve.n], curve.at_risk]),
                    }
                )
            )
        frame = pd.concat(parts, ignore_index=True)
        frame["employed"] = 1 - frame["survival"]
        frame["employed_lower"] = 1 - frame["upper"]
        frame["employed_upper"] = 1 - frame["lower"]
        return frame


def _duration_data(
    frame: pd.DataFrame, duration: str, event: str, extra: Sequence[str]
) -> pd.DataFrame:
    columns = [duration, event, *extra]
    for column in columns:
        if column not in frame.columns:
            raise AnalysisRefused(f"The column '{column}' is not in the data.")
    data = frame[columns]
    n_missing = int(data.isna().any(axis=1).sum())
    if n_missing:
        raise AnalysisRefused(
            f"{{n_missing}} rows have a missing value in {literal(', '.join(columns))}; record "
            "them as censored or exclude them explicitly.",
            n_missing=n_missing,
        )
    if not data[event].isin([0, 1]).all():
        raise AnalysisRefused(f"The event column '{event}' must hold only 0 and 1.")
    if (data[duration] < 0).any():
        raise AnalysisRefused(f"The duration column '{duration}' has negative values.")
    if data[event].sum() == 0:
        raise AnalysisRefused(
            "No one in the data found a job during follow-up (no events), so time to first "
            "job cannot be estimated."
        )
    return data


def kaplan_meier(
    frame: pd.DataFrame, duration: str, event: str, group: str | None = None
) -> KaplanMeierResult:
    """Kaplan–Meier curves of time to first job, per group, with a log-rank test.

    Parameters
    ----------
    frame : DataFrame
        One row per graduate.
    duration : str
        Time from award to first job or to last contact.
    event : str
        1 if a first job was observed, 0 if censored.
    group : str, optional
        Grouping column (e.g. holder or programme).

    Returns
    -------
    KaplanMeierResult

    Notes
    -----
    Product-limit estimate with Greenwood standard errors (``statsmodels`` ``SurvfuncRight``);
    log-rank test from ``statsmodels.duration.survfunc.survdiff``.
    """
    data = _duration_data(frame, duration, event, [] if group is None else [group])
    labels = pd.Series("all", index=data.index) if group is None else data[group].astype(object)
    curves = []
    for key, rows in data.groupby(labels, sort=True):
        fit = SurvfuncRight(
            rows[duration].to_numpy(dtype=np.float64), rows[event].to_numpy(dtype=np.float64)
        )
        survival = np.asarray(fit.surv_prob, dtype=np.float64)
        lower, upper = _loglog_interval(survival, np.asarray(fit.surv_prob_se, dtype=float))
        reached = bool((survival <= 0.5).any())
        median = float(fit.quantile(0.5)) if reached else float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) where S reaches 0
            low, high = fit.quantile_ci(0.5) if reached else (float("nan"), float("inf"))
        curves.append(
            SurvivalCurve(
                key,
                len(rows),
                int(rows[event].sum()),
                np.asarray(fit.surv_times, dtype=np.float64),
                survival,
                lower,
                upper,
                np.asarray(fit.n_risk, dtype=np.float64),
                median,
                float(low),
                float(high),
            )
        )
    statistic = p_value = None
    if len(curves) > 1:
        chi2, p = survdiff(
            data[duration].to_numpy(dtype=np.float64),
            data[event].to_numpy(dtype=np.float64),
            labels.to_numpy(),
        )
        statistic, p_value = float(chi2), float(p)
    return KaplanMeierResult(tuple(curves), statistic, p_value)


@dataclass(frozen=True)
class HazardRatio:
    """Hazard ratio of one term with its Wald 95 % interval (>1: jobs found sooner)."""

    term: str
    hazard_ratio: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class CoxResult:
    """Cox proportional-hazards model of time to first job."""

    hazard_ratios: tuple[HazardRatio, ...]
    n: int
    n_events: int
    ties: str

    def to_frame(self) -> pd.DataFrame:
        """One row per term."""
        return pd.DataFrame([vars(row) for row in self.hazard_ratios])


def cox_model(
    frame: pd.DataFrame,
    duration: str,
    event: str,
    group: str,
    covariates: Sequence[str] = (),
    *,
    ties: str = "efron",
) -> CoxResult:
    """Cox model of time to first job by group (holder or programme) and covariates.

    Non-numeric columns (including ``group`` when it is text) are one-hot encoded against
    their first level in sorted order; hazard ratios are ``exp(coef)`` with Wald 95 %
    intervals from ``statsmodels.duration.hazard_regression.PHReg``.

    Raises
    ------
    AnalysisRefused
        With no events, or when a group level has no events (its hazard ratio would be 0).
    """
    data = _duration_data(frame, duration, event, [group, *covariates])
    for key, rows in data.groupby(data[group].astype(str)):
        if rows[event].sum() == 0:
            raise AnalysisRefused(
                f"No one in '{group}' = {key} found a job during follow-up, so its hazard "
                "ratio cannot be estimated."
            )
    columns = []
    for column in [group, *covariates]:
        series = data[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            columns.append(series.astype(float).rename(column))
        else:
            levels = sorted(series.astype(str).unique())
            for level in levels[1:]:
                columns.append(
                    (series.astype(str) == level).astype(float).rename(f"{column}={level}")
                )
    exog = pd.concat(columns, axis=1)
    if exog.shape[1] == 0 or (exog.std() == 0).any():
        raise AnalysisRefused("A Cox model term has the same value for every graduate.")
    result = PHReg(
        data[duration].to_numpy(dtype=np.float64),
        exog.to_numpy(dtype=np.float64),
        status=data[event].to_numpy(dtype=np.float64),
        ties=ties,
    ).fit()
    params = np.asarray(result.params)
    bse = np.asarray(result.bse)
    rows = tuple(
        HazardRatio(
            term,
            float(np.exp(b)),
            float(np.exp(b - Z_95 * s)),
            float(np.exp(b + Z_95 * s)),
            float(p),
        )
        for term, b, s, p in zip(exog.columns, params, bse, np.asarray(result.pvalues), strict=True)
    )
    return CoxResult(rows, len(data), int(data[event].sum()), ties)
