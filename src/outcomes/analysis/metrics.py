"""The standard outcome metrics of domain.md §4, for any grouping, from rows or from counts.

Two steps, so the database can do the heavy part: :func:`count_outcomes` turns the canonical
analysis frame (one row per learner × wave) into one row of counts per group, and
:func:`metrics_from_counts` turns counts into a :class:`MetricsPanel` of rates with intervals.
:func:`metrics_panel` runs both. Salary quantiles need the values themselves, so they come
from a small frame of eligible salaries (:func:`eligible_salaries`).

The panel describes exactly the rows it is given: filter to credential holders (or group by
``treated``) and to one wave (or group by ``wave_months``) before calling.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outcomes.analysis.intervals import (
    NPS_MULTINOMIAL,
    ORDER_STATISTICS,
    STUDENT_T,
    WILSON,
    FloatArray,
    grouped_quantiles,
    mean_t_interval,
    nps_interval,
    wilson_interval,
)
from outcomes.vocab import ACTIVITIES, CAREER_POSITIVE, EMPLOYED, SEEKING

LIKERT_ITEMS = ("satisfaction", "voice_meaningful", "voice_future", "voice_skills")
QUANTILES = (("salary_p25", 0.25), ("salary_p50", 0.50), ("salary_p75", 0.75))
UNIT_PROPORTION = "proportion"
UNIT_NPS = "NPS points (-100 to 100)"
UNIT_SCORE = "mean score (1-5)"
UNIT_CURRENCY = "base currency per year"


@dataclass(frozen=True)
class Metric:
    """One metric for one group: counts, estimate, interval and what they mean."""

    name: str
    group: tuple[object, ...]
    numerator: float
    denominator: float
    n: float
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    unit: str
    definition: str


@dataclass(frozen=True)
class MetricSeries:
    """One metric across all groups of a panel (arrays aligned with the panel's keys)."""

    name: str
    numerator: FloatArray
    denominator: FloatArray
    n: FloatArray
    estimate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    method: str
    unit: str
    definition: str


@dataclass(frozen=True)
class SalaryExclusions:
    """How many full-time salaries were left out of the quantiles, and why."""

    flagged_excluded: int
    below_floor: int
    above_cap: int
    cap: float
    top_quantile: float
    floor: float | None


@dataclass(frozen=True)
class MetricsPanel:
    """All standard metrics for every group; ``to_frame()`` gives one row per group × metric."""

    group_by: tuple[str, ...]
    keys: pd.DataFrame
    series: tuple[MetricSeries, ...]
    confidence: float
    salary_exclusions: SalaryExclusions | None = field(default=None)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the metrics in the panel, in display order."""
        return tuple(s.name for s in self.series)

    def groups(self) -> list[tuple[object, ...]]:
        """The group keys, one tuple per group (``()`` when ungrouped)."""
        return [tuple(row) for row in self.keys.itertuples(index=False, name=None)]

    def get(self, name: str, group: tuple[object, ...] = ()) -> Metric:
        """One metric for one group, e.g. ``panel.get("response_rate", ("DATA-101", 2024))``."""
        try:
            position = self.groups().index(tuple(group))
        except ValueError:
            raise KeyError(f"no group {group!r}; groups are {self.groups()!r}") from None
        for s in self.series:
            if s.name == name:
                return Metric(
                    s.name,
                    tuple(group),
                    float(s.numerator[position]),
                    float(s.denominator[position]),
                    float(s.n[position]),
                    float(s.estimate[position]),
                    float(s.ci_low[position]),
                    float(s.ci_high[position]),
                    s.method,
                    s.unit,
                    s.definition,
                )
        raise KeyError(f"no metric {name!r}; metrics are {self.names!r}")

    def __iter__(self) -> Iterator[MetricSeries]:
        return iter(self.series)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: group columns, then metric, counts, estimate, CI, method, unit, definition.

        ``denominator`` is NaN for means and quantiles (their size is in ``n``); ``n`` is the
        base of every metric, which is what disclosure control needs.
        """
        parts = []
        for s in self.series:
            part = self.keys.copy()
            part["metric"] = s.name
            part["numerator"] = s.numerator
            part["denominator"] = s.denominator
            part["n"] = s.n
            part["estimate"] = s.estimate
            part["ci_low"] = s.ci_low
            part["ci_high"] = s.ci_high
            part["method"] = s.method
            part["unit"] = s.unit
            part["definition"] = s.definition
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].fillna(False).to_numpy(dtype=bool)


def _numbers(frame: pd.DataFrame, column: str) -> FloatArray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _group_ids(frame: pd.DataFrame, group_by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    if not group_by:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=[0])
    grouped = frame.groupby(list(group_by), sort=True, dropna=False, observed=True)
    ids = grouped.ngroup().to_numpy(dtype=np.int64)
    keys = grouped.size().index.to_frame(index=False)
    return ids, keys


def fulltime_mask(
    activity_codes: np.ndarray, hours: FloatArray, fulltime_hours: float | None
) -> np.ndarray:
    """Employed full-time: hours decide when known (≥ ``fulltime_hours``), else the code does."""
    codes = np.asarray(activity_codes)
    employed = np.isin(codes, [ACTIVITIES.index(c) for c in EMPLOYED])
    by_code = codes == ACTIVITIES.index("employed_full_time")
    if fulltime_hours is None:
        return by_code
    known_hours = ~np.isnan(hours)
    return np.where(known_hours, employed & (hours >= fulltime_hours), by_code)


def count_outcomes(
    frame: pd.DataFrame,
    group_by: Sequence[str] = (),
    *,
    fulltime_hours: float | None = 30.0,
    invited: str = "invited",
    responded: str = "responded",
    partial: str = "partial",
    known: str = "known",
    activity: str = "activity",
    hours_per_week: str = "hours_per_week",
    job_related: str = "job_related",
    satisfaction: str = "satisfaction",
    nps: str = "nps",
    voice_meaningful: str = "voice_meaningful",
    voice_future: str = "voice_future",
    voice_skills: str = "voice_skills",
) -> pd.DataFrame:
    """Count per group everything the standard metrics need (see :func:`metrics_from_counts`).

    Parameters
    ----------
    frame : DataFrame
        Canonical analysis frame, one row per learner × wave.
    group_by : sequence of str
        Grouping columns; empty for one overall group.
    fulltime_hours : float or None
        Full-time threshold (NACE 30, QILT 35). ``None`` trusts the activity code alone.

    Returns
    -------
    DataFrame
        Group columns followed by the count columns listed in :func:`metrics_from_counts`.
    """
    ids, keys = _group_ids(frame, group_by)
    size = len(keys)
    codes = pd.Categorical(frame[activity], categories=ACTIVITIES).codes.astype(np.int64)
    codes = np.where(codes < 0, ACTIVITIES.index("unknown"), codes)

    def total(mask: np.ndarray | FloatArray) -> FloatArray:
        return np.bincount(ids, weights=mask.astype(np.float64), minlength=size).astype(np.float64)

    invited_flag = _flag(frame, invited)
    counts: dict[str, FloatArray] = {
        "graduates": np.bincount(ids, minlength=size).astype(np.float64),
        "invited": total(invited_flag),
        "responded": total(invited_flag & _flag(frame, responded)),
        "partial": total(invited_flag & _flag(frame, partial)),
        "known": total(_flag(frame, known)),
    }
    activity_counts = np.bincount(ids * len(ACTIVITIES) + codes, minlength=size * len(ACTIVITIES))
    by_activity = activity_counts.reshape(size, len(ACTIVITIES)).astype(np.float64)
    for position, code in enumerate(ACTIVITIES):
        counts[f"n_{code}"] = by_activity[:, position]
    hours = (
        _numbers(frame, hours_per_week) if hours_per_week in frame else np.full(len(ids), np.nan)
    )
    counts["n_fulltime"] = total(fulltime_mask(codes, hours, fulltime_hours))

    employed = np.isin(codes, [ACTIVITIES.index(c) for c in EMPLOYED])
    related = _numbers(frame, job_related)
    counts["n_related_answered"] = total(employed & ~np.isnan(related))
    counts["n_related_agree"] = total(employed & (related >= 4))

    for item, column in zip(
        LIKERT_ITEMS,
        (satisfaction, voice_meaningful, voice_future, voice_skills),
        strict=True,
    ):
        values = _numbers(frame, column)
        answered = ~np.isnan(values)
        counts[f"n_{item}"] = total(answered)
        counts[f"n_{item}_agree"] = total(values >= 4)
        if item == "satisfaction":
            filled = np.where(answered, values, 0.0)
            counts["satisfaction_sum"] = total(filled)
            counts["satisfaction_sum_sq"] = total(filled * filled)

    scores = _numbers(frame, nps)
    counts["n_nps"] = total(~np.isnan(scores))
    counts["n_promoters"] = total(scores >= 9)
    counts["n_detractors"] = total(scores <= 6)
    return pd.concat([keys.reset_index(drop=True), pd.DataFrame(counts)], axis=1)


def eligible_salaries(
    frame: pd.DataFrame,
    group_by: Sequence[str] = (),
    *,
    fulltime_hours: float | None = 30.0,
    top_quantile: float = 0.999,
    floor: float | None = None,
    activity: str = "activity",
    hours_per_week: str = "hours_per_week",
    salary: str = "salary_annual",
    salary_excluded: str = "salary_excluded",
    fulltime_only: bool = False,
) -> tuple[pd.DataFrame, SalaryExclusions]:
    """Salaries that enter the quantiles: full-time employed, not flagged, within floor and cap.

    ``fulltime_only`` says every row is already known to be full-time employed (the
    database applied :func:`fulltime_mask`'s rule, as ``aggregates.salary_rows`` does): the
    activity and hours columns are then not needed.

    Notes
    -----
    HESA Graduate Outcomes practice: full-time paid employment only, annualised, excluding
    values below the minimum-wage floor and above a top cap. The cap is the ``top_quantile``
    of all eligible salaries in ``frame`` (the analysed population, not each group), so every
    group is held to the same cap.
    """
    values = _numbers(frame, salary)
    if fulltime_only:
        fulltime = np.ones(len(values), dtype=bool)
    else:
        codes = pd.Categorical(frame[activity], categories=ACTIVITIES).codes.astype(np.int64)
        hours = (
            _numbers(frame, hours_per_week)
            if hours_per_week in frame
            else np.full(len(codes), np.nan)
        )
        fulltime = fulltime_mask(codes, hours, fulltime_hours)
    fulltime_with_salary = fulltime & ~np.isnan(values)
    flagged = fulltime_with_salary & _flag(frame, salary_excluded)
    candidate = fulltime_with_salary & ~flagged
    below = candidate & (values < floor) if floor is not None else np.zeros(len(codes), bool)
    candidate &= ~below
    cap = float(np.quantile(values[candidate], top_quantile)) if candidate.any() else float("nan")
    above = candidate & (values > cap)
    keep = candidate & ~above
    kept = frame.loc[keep, list(group_by)].reset_index(drop=True)
    kept["salary"] = values[keep]
    exclusions = SalaryExclusions(
        int(flagged.sum()), int(below.sum()), int(above.sum()), cap, top_quantile, floor
    )
    return kept, exclusions


def _proportion(
    name: str, x: FloatArray, n: FloatArray, confidence: float, definition: str
) -> MetricSeries:
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(n > 0, x / n, np.nan)
    low, high = wilson_interval(x, n, confidence)
    return MetricSeries(name, x, n, n, estimate, low, high, WILSON, UNIT_PROPORTION, definition)


def _salary_series(
    salaries: pd.DataFrame, keys: pd.DataFrame, group_by: Sequence[str], confidence: float
) -> list[MetricSeries]:
    if group_by:
        # Position of each salary's group among the panel's keys, then one sort by (group, value).
        key_index = pd.MultiIndex.from_frame(keys[list(group_by)])
        salary_index = pd.MultiIndex.from_frame(salaries[list(group_by)])
        positions = key_index.get_indexer(salary_index)
    else:
        positions = np.zeros(len(salaries), dtype=np.int64)
    values = salaries["salary"].to_numpy(dtype=np.float64)
    valid = positions >= 0
    positions, values = positions[valid], values[valid]
    order = np.lexsort((values, positions))
    sorted_values = values[order]
    sizes = np.bincount(positions, minlength=len(keys)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    nan = np.full(len(keys), np.nan)
    result = []
    for name, q in QUANTILES:
        estimate, low, high = grouped_quantiles(sorted_values, starts, sizes, q, confidence)
        definition = (
            f"{int(q * 100)}th percentile of annual salary, full-time employed only, flagged "
            "and out-of-range salaries excluded"
        )
        result.append(
            MetricSeries(
                name, nan, nan, sizes.astype(np.float64), estimate, low, high,
                ORDER_STATISTICS, UNIT_CURRENCY, definition,
            )
        )  # fmt: skip
    return result


def metrics_from_counts(
    counts: pd.DataFrame,
    group_by: Sequence[str] = (),
    *,
    salaries: pd.DataFrame | None = None,
    salary_exclusions: SalaryExclusions | None = None,
    confidence: float = 0.95,
) -> MetricsPanel:
    """Build the metrics panel from one row of counts per group (e.g. aggregated in SQL).

    Parameters
    ----------
    counts : DataFrame
        The ``group_by`` columns plus these counts (numbers of rows in the group):

        - ``graduates`` all rows; ``invited``; ``responded`` (invited with a complete
          response); ``partial`` (invited with a partial response); ``known`` (outcome known
          from any source);
        - ``n_<code>`` for each code of :data:`ACTIVITIES` (a missing activity counts as
          ``n_unknown``); ``n_fulltime`` (employed full-time, see :func:`fulltime_mask`);
        - ``n_related_answered`` / ``n_related_agree``: employed (full-time, part-time,
          self-employed) who rated relatedness / rated it 4 or 5;
        - ``n_<item>`` / ``n_<item>_agree`` for ``satisfaction``, ``voice_meaningful``,
          ``voice_future``, ``voice_skills``: answered / answered 4 or 5;
        - ``satisfaction_sum``, ``satisfaction_sum_sq``: sum and sum of squares of answers;
        - ``n_nps``, ``n_promoters`` (9–10), ``n_detractors`` (0–6).
    group_by : sequence of str
        Grouping columns present in ``counts`` (and in ``salaries``).
    salaries : DataFrame, optional
        ``group_by`` columns and ``salary`` (from :func:`eligible_salaries`); without it the
        panel has no salary quantiles.

    Returns
    -------
    MetricsPanel
    """
    group_by = tuple(group_by)
    keys = counts[list(group_by)].reset_index(drop=True) if group_by else pd.DataFrame(index=[0])

    def col(name: str) -> FloatArray:
        return counts[name].to_numpy(dtype=np.float64)

    def activities(codes: Sequence[str]) -> FloatArray:
        return np.sum([col(f"n_{code}") for code in codes], axis=0)

    employed = activities(EMPLOYED)
    fulltime = col("n_fulltime")
    positive = activities(CAREER_POSITIVE)
    known_activity = col("graduates") - col("n_unknown")
    series = [
        _proportion(
            "response_rate", col("responded"), col("invited"), confidence,
            "complete survey responses ÷ graduates invited (HESA)",
        ),
        _proportion(
            "partial_response_rate", col("partial"), col("invited"), confidence,
            "partial (incomplete) survey responses ÷ graduates invited, reported separately",
        ),
        _proportion(
            "knowledge_rate", col("known"), col("graduates"), confidence,
            "graduates with an outcome known from any source ÷ all graduates (NACE)",
        ),
        _proportion(
            "career_outcomes_rate", positive, positive + activities(SEEKING), confidence,
            "employed full-time, part-time or self-employed + internship + voluntary + military "
            "+ continuing education ÷ (those + seeking employment + seeking study); not_seeking "
            "and unknown excluded (NACE)",
        ),
        _proportion(
            "fulltime_employment_rate", fulltime, fulltime + col("n_seeking_employment"),
            confidence,
            "employed full-time ÷ (employed full-time + seeking employment) (QILT, variant: "
            "part-time workers wanting full-time work are not identified)",
        ),
        _proportion(
            "overall_employment_rate", employed, employed + col("n_seeking_employment"),
            confidence,
            "employed (full-time, part-time, self-employed) ÷ (those + seeking employment) (QILT)",
        ),
        _proportion(
            "further_study_rate", col("n_continuing_education"), known_activity, confidence,
            "in continuing education ÷ graduates with a known activity (unknown excluded)",
        ),
        _proportion(
            "relatedness_rate", col("n_related_agree"), col("n_related_answered"), confidence,
            "employed who rate their job 4–5 for relatedness ÷ employed who answered",
        ),
        _proportion(
            "satisfaction_agree", col("n_satisfaction_agree"), col("n_satisfaction"),
            confidence, "satisfaction answered 4–5 ÷ answered",
        ),
    ]  # fmt: skip
    n_sat = col("n_satisfaction")
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = col("satisfaction_sum") / n_sat
        variance = (col("satisfaction_sum_sq") - n_sat * mean**2) / (n_sat - 1)
    sd = np.sqrt(np.maximum(variance, 0.0))
    low, high = mean_t_interval(mean, sd, n_sat, confidence)
    nan = np.full(len(keys), np.nan)
    series.append(
        MetricSeries(
            "satisfaction_mean", nan, nan, n_sat, np.where(n_sat > 0, mean, np.nan), low, high,
            STUDENT_T, UNIT_SCORE, "mean satisfaction (1–5) among those who answered",
        )
    )  # fmt: skip
    score, low, high = nps_interval(
        col("n_promoters"), col("n_detractors"), col("n_nps"), confidence
    )
    series.append(
        MetricSeries(
            "nps", nan, col("n_nps"), col("n_nps"),
            score * 100, low * 100, high * 100, NPS_MULTINOMIAL, UNIT_NPS,
            "% promoters (9–10) − % detractors (0–6) among those who answered",
        )
    )  # fmt: skip
    labels = {
        "voice_meaningful": "current activity is meaningful",
        "voice_future": "current activity fits future plans",
        "voice_skills": "current activity uses what I learnt",
    }
    for item, label in labels.items():
        series.append(
            _proportion(
                f"{item}_agree", col(f"n_{item}_agree"), col(f"n_{item}"), confidence,
                f"agree (4–5) that the {label} ÷ answered (HESA graduate voice)",
            )
        )  # fmt: skip
    if salaries is not None:
        series.extend(_salary_series(salaries, keys, group_by, confidence))
    return MetricsPanel(group_by, keys, tuple(series), confidence, salary_exclusions)


def metrics_panel(
    frame: pd.DataFrame,
    group_by: Sequence[str] = (),
    *,
    fulltime_hours: float | None = 30.0,
    salary_top_quantile: float = 0.999,
    salary_floor: float | None = None,
    confidence: float = 0.95,
    **columns: str,
) -> MetricsPanel:
    """All standard metrics of domain.md §4 for each group of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Canonical analysis frame (one row per learner × wave).
    group_by : sequence of str
        Grouping columns, e.g. ``["programme", "cohort"]``; empty for one overall group.
    fulltime_hours, salary_top_quantile, salary_floor
        From Settings (``fulltime_hours``, ``salary_top_quantile``, ``salary_floor``).
    **columns : str
        Column-name overrides, e.g. ``activity="primary_activity"``; the keywords are those of
        :func:`count_outcomes` plus ``salary`` and ``salary_excluded``.

    Returns
    -------
    MetricsPanel
    """
    salary_columns: dict[str, Any] = {
        k: columns.pop(k) for k in ("salary", "salary_excluded") if k in columns
    }
    counts = count_outcomes(frame, group_by, fulltime_hours=fulltime_hours, **columns)
    shared: dict[str, Any] = {
        k: v for k, v in columns.items() if k in ("activity", "hours_per_week")
    }
    salaries, exclusions = eligible_salaries(
        frame,
        group_by,
        fulltime_hours=fulltime_hours,
        top_quantile=salary_top_quantile,
        floor=salary_floor,
        **shared,
        **salary_columns,
    )
    return metrics_from_counts(
        counts,
        group_by,
        salaries=salaries,
        salary_exclusions=exclusions,
        confidence=confidence,
    )
