"""The metrics panel's counts and salaries, aggregated in the database over the analysis table.

Keyword-only functions taking ``session=``: they refresh the stale analysis rows first
(:func:`outcomes.store.analysis_table.refresh_before_reading`), filter and group by the
table's own ids, then look up programme codes and months after award.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.analysis.metrics import LIKERT_ITEMS
from outcomes.store.analysis_table import refresh_before_reading
from outcomes.store.frames import read_frame
from outcomes.store.tables import AnalysisRow, Programme, SurveyWave, table_of
from outcomes.vocab import ACTIVITIES, EMPLOYED

GROUPABLE = ("programme", "cohort", "wave_months", "treated")


def _fresh_rows(
    *,
    session: Session,
    group_by: tuple[str, ...],
    wave_months: int | None = None,
    programme_codes: list[str] | None = None,
    programme_ids: set[int] | None = None,
    treated: bool | None = None,
) -> tuple[sa.Table, list[sa.ColumnElement[bool]], dict[str, sa.ColumnElement[Any]]]:
    """The analysis table (refreshed), the filters on it, and the raw column behind each key.

    Filters and keys use only the table's own ids (``programme`` is grouped by
    ``programme_id``, ``wave_months`` by ``wave_id``): the scan over a million rows joins
    nothing, and the small lookups come after (:func:`_lookups`).
    """
    unknown = [column for column in group_by if column not in GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group by {unknown}: use {', '.join(GROUPABLE)}")
    refresh_before_reading(session)
    row, prog, wav = table_of(AnalysisRow), table_of(Programme), table_of(SurveyWave)
    where: list[sa.ColumnElement[bool]] = []
    if wave_months is not None:
        months = sa.select(wav.c.id).where(wav.c.months_after_award == wave_months)
        where.append(row.c.wave_id.in_(months))
    if programme_codes:
        codes = sa.select(prog.c.id).where(prog.c.code.in_(programme_codes))
        where.append(row.c.programme_id.in_(codes))
    if programme_ids is not None:
        where.append(row.c.programme_id.in_(sorted(programme_ids)))
    if treated is not None:
        where.append(row.c.treated == treated)
    keys = {
        "programme": row.c.programme_id,
        "cohort": row.c.cohort,
        "wave_months": row.c.wave_id,
        "treated": row.c.treated,
    }
    return row, where, {key: keys[key] for key in group_by}


def _lookups(session: Session, frame: pd.DataFrame, group_by: tuple[str, ...]) -> pd.DataFrame:
    """Replace programme and wave ids by programme codes and months after award."""
    if "programme" in group_by:
        codes = dict(session.execute(sa.select(col(Programme.id), col(Programme.code))).all())
        frame["programme"] = frame["programme"].map(codes)
    if "wave_months" in group_by:
        months = dict(
            session.execute(sa.select(col(SurveyWave.id), col(SurveyWave.months_after_award)))
            .tuples()
            .all()
        )
        frame["wave_months"] = frame["wave_months"].map(months)
    for column in group_by:
        if column in ("cohort", "wave_months"):
            frame[column] = pd.to_numeric(frame[column]).astype("int64")
        elif column == "treated":
            frame[column] = frame[column].astype(bool)
    return frame


def _fulltime(row: sa.Table, fulltime_hours: float | None) -> sa.ColumnElement[bool]:
    """Full-time as :func:`outcomes.analysis.metrics.fulltime_mask` decides it, in SQL."""
    activity, hours = row.c.activity, row.c.hours_per_week
    if fulltime_hours is None:
        return activity == "employed_full_time"
    return sa.or_(
        sa.and_(hours >= fulltime_hours, activity.in_(EMPLOYED)),
        sa.and_(hours.is_(None), activity == "employed_full_time"),
    )


def metric_counts(
    *,
    session: Session,
    group_by: tuple[str, ...] = ("programme",),
    fulltime_hours: float | None,
    **filters: object,
) -> pd.DataFrame:
    """Every count the standard metrics need, aggregated in the database, one row per group.

    ``fulltime_hours`` is the setting ``OUTCOMES_FULLTIME_HOURS`` (None: the activity code
    alone decides); it has no default, so no caller counts with a threshold of its own.

    The columns are those :func:`outcomes.analysis.metrics.metrics_from_counts` expects;
    full-time follows :func:`outcomes.analysis.metrics.fulltime_mask` (hours decide when
    known). ``filters`` are those of :func:`outcomes.store.frames.analysis_select`. Reads
    ``analysis_row``, refreshing its stale rows first (which commits; see
    :func:`outcomes.store.analysis_table.refresh_analysis_rows`).
    """
    row, where, keys = _fresh_rows(session=session, group_by=group_by, **filters)  # type: ignore[arg-type]

    def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.count().filter(condition)

    employed = row.c.activity.in_(EMPLOYED)
    columns: list[sa.ColumnElement[Any]] = [
        sa.func.count().label("graduates"),
        count_if(row.c.invited).label("invited"),
        count_if(row.c.response_status == "complete").label("responded"),
        count_if(row.c.response_status == "partial").label("partial"),
        count_if(row.c.known).label("known"),
    ]
    columns += [count_if(row.c.activity == code).label(f"n_{code}") for code in ACTIVITIES]
    columns += [
        count_if(_fulltime(row, fulltime_hours)).label("n_fulltime"),
        count_if(sa.and_(row.c.job_related.is_not(None), employed)).label("n_related_answered"),
        count_if(sa.and_(row.c.job_related >= 4, employed)).label("n_related_agree"),
    ]
    for item in LIKERT_ITEMS:
        columns += [
            sa.func.count(row.c[item]).label(f"n_{item}"),
            count_if(row.c[item] >= 4).label(f"n_{item}_agree"),
        ]
    columns += [
        sa.func.coalesce(sa.func.sum(row.c.satisfaction), 0).label("satisfaction_sum"),
        sa.func.coalesce(sa.func.sum(row.c.satisfaction * row.c.satisfaction), 0).label(
            "satisfaction_sum_sq"
        ),
        sa.func.count(row.c.nps).label("n_nps"),
        count_if(row.c.nps >= 9).label("n_promoters"),
        count_if(row.c.nps <= 6).label("n_detractors"),
    ]
    statement = sa.select(*[column.label(key) for key, column in keys.items()], *columns).where(
        *where
    )
    if keys:
        statement = statement.group_by(*keys.values())
    frame = _lookups(session, read_frame(session, statement, raw=True), group_by)
    for column in frame.columns[len(group_by) :]:
        frame[column] = pd.to_numeric(frame[column]).astype("float64").fillna(0.0)
    if group_by:
        # Ids became codes and months: rows that now share a key are added together.
        frame = frame.groupby(list(group_by), as_index=False, sort=True).sum()
    return frame


def salary_rows(
    *,
    session: Session,
    group_by: tuple[str, ...] = ("programme",),
    fulltime_hours: float | None = 30.0,
    **filters: object,
) -> pd.DataFrame:
    """Full-time employed graduates with a salary: the frame salary quantiles come from.

    Columns: the keys, ``salary_annual`` and ``salary_excluded``; the full-time rule is
    applied here, in SQL, so that only the rows the quantiles can use leave the database.
    """
    row, where, keys = _fresh_rows(session=session, group_by=group_by, **filters)  # type: ignore[arg-type]
    statement = sa.select(
        *[column.label(key) for key, column in keys.items()],
        row.c.salary_annual,
        row.c.salary_excluded,
    ).where(*where, row.c.salary_annual.is_not(None), _fulltime(row, fulltime_hours))
    frame = _lookups(session, read_frame(session, statement, raw=True), group_by)
    frame["salary_annual"] = pd.to_numeric(frame["salary_annual"]).astype("float64")
    frame["salary_excluded"] = frame["salary_excluded"].fillna(False).astype(bool)
    return frame
