"""The one place that reads SQL for display and analysis.

Keyword-only functions taking ``session=`` and returning DataFrames, aggregating in the
database where they can. Functions for analysis never select from ``learner_identity`` or
``learner_external_id``: analysis frames are pseudonymous.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col

from outcomes.analysis.metrics import EMPLOYED
from outcomes.models import (
    ACTIVITIES,
    Credential,
    Enrolment,
    Invitation,
    Learner,
    Outcome,
    Programme,
    Response,
    SurveyWave,
)


def _table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model (typed for mypy, which cannot see ``__table__``)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def _frame(
    session: Session,
    statement: sa.Select,  # type: ignore[type-arg]
    *,
    raw: bool = False,
) -> pd.DataFrame:
    """Run ``statement`` and return its rows as a DataFrame.

    ``raw`` reads the driver's tuples directly, skipping SQLAlchemy's per-value result
    processing: a third faster at a million rows, and safe for frames of numbers and
    strings whose dtypes the caller sets (never for dates or timestamps).
    """
    result = session.execute(statement)
    keys = list(result.keys())
    rows = result.cursor.fetchall() if raw else result.fetchall()  # type: ignore[attr-defined]
    if not rows:
        return pd.DataFrame(columns=keys)
    # Column-wise construction: three times faster than DataFrame(rows) on Row objects.
    return pd.DataFrame(
        {key: list(values) for key, values in zip(keys, zip(*rows, strict=True), strict=True)}
    )


def overview_counts(*, session: Session) -> dict[str, int]:
    """How many of each record the institution holds."""
    tables = {
        "programmes": Programme,
        "learners": Learner,
        "enrolments": Enrolment,
        "credentials": Credential,
        "survey waves": SurveyWave,
        "invitations sent": Invitation,
        "responses": Response,
        "outcomes": Outcome,
    }
    sent = col(Invitation.sent_at).is_not(None)
    return {
        name: session.execute(
            sa.select(sa.func.count())
            .select_from(model)
            .where(sent if model is Invitation else sa.true())
        ).scalar_one()
        for name, model in tables.items()
    }


def programme_table(*, session: Session, scope: set[int] | None = None) -> pd.DataFrame:
    """Programmes with their EU elements and credentials awarded (``scope``: only these ids)."""
    awarded = (
        sa.select(col(Credential.programme_id), sa.func.count().label("credentials"))
        .group_by(col(Credential.programme_id))
        .subquery()
    )
    statement = (
        sa.select(
            col(Programme.code),
            col(Programme.title),
            col(Programme.ects),
            col(Programme.eqf_level),
            col(Programme.participation_form),
            col(Programme.field_of_study),
            col(Programme.launched_on),
            col(Programme.status),
            sa.func.coalesce(awarded.c.credentials, 0).label("credentials"),
        )
        .outerjoin(awarded, awarded.c.programme_id == col(Programme.id))
        .order_by(col(Programme.code))
    )
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    return _frame(session, statement)


def programme_codes(*, session: Session, scope: set[int] | None) -> tuple[str, ...]:
    """Codes of the programmes a viewer may see (``None``: every programme)."""
    statement = sa.select(col(Programme.code)).order_by(col(Programme.code))
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    return tuple(session.execute(statement).scalars())


# --- analysis frames (pseudonymous: never identity tables) ----------------------------------

ANALYSIS_COLUMNS = (
    "learner_id",
    "programme",
    "cohort",
    "wave_id",
    "wave_months",
    "treated",
    "enrolment_status",
    "invited",
    "responded",
    "partial",
    "known",
    "source",
    "activity",
    "hours_per_week",
    "salary_annual",
    "salary_excluded",
    "job_related",
    "promoted",
    "satisfaction",
    "nps",
    "voice_meaningful",
    "voice_future",
    "voice_skills",
    "months_to_first_job",
    "job_search_censored",
    "age",
    "gender",
    "prior_education",
    "baseline_employment",
    "baseline_salary",
)


def analysis_select(
    *,
    wave_months: int | None = None,
    programme_codes: list[str] | None = None,
    programme_ids: set[int] | None = None,
    treated: bool | None = None,
) -> sa.Select:  # type: ignore[type-arg]
    """The SELECT behind :func:`analysis_frame`, reusable as a subquery for aggregation."""
    inv, enr, lrn = _table(Invitation), _table(Enrolment), _table(Learner)
    wav, prog, cred = _table(SurveyWave), _table(Programme), _table(Credential)
    resp, out = _table(Response), _table(Outcome)
    active_credential = (
        sa.select(cred.c.enrolment_id)
        .where(cred.c.status == "active")
        .group_by(cred.c.enrolment_id)
        .subquery()
    )
    is_treated = active_credential.c.enrolment_id.is_not(None)
    statement = (
        sa.select(
            inv.c.learner_id,
            prog.c.code.label("programme"),
            sa.extract("year", enr.c.ended_on).label("cohort"),
            inv.c.wave_id,
            wav.c.months_after_award.label("wave_months"),
            is_treated.label("treated"),
            enr.c.status.label("enrolment_status"),
            inv.c.sent_at.is_not(None).label("invited"),
            sa.func.coalesce(resp.c.status == "complete", False).label("responded"),
            sa.func.coalesce(resp.c.status == "partial", False).label("partial"),
            _known(out).label("known"),
            out.c.source,
            out.c.activity,
            out.c.hours_per_week,
            out.c.salary_annual,
            out.c.salary_excluded,
            out.c.job_related,
            out.c.promoted,
            out.c.satisfaction,
            out.c.nps,
            out.c.voice_meaningful,
            out.c.voice_future,
            out.c.voice_skills,
            out.c.months_to_first_job,
            out.c.job_search_censored,
            (sa.extract("year", enr.c.started_on) - lrn.c.birth_year).label("age"),
            lrn.c.gender,
            lrn.c.prior_education,
            lrn.c.baseline_employment,
            lrn.c.baseline_salary,
        )
        .select_from(inv)
        .join(enr, enr.c.id == inv.c.enrolment_id)
        .join(lrn, lrn.c.id == inv.c.learner_id)
        .join(wav, wav.c.id == inv.c.wave_id)
        .join(prog, prog.c.id == enr.c.programme_id)
        .outerjoin(active_credential, active_credential.c.enrolment_id == enr.c.id)
        .outerjoin(resp, resp.c.invitation_id == inv.c.id)
        .outerjoin(
            out, sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id)
        )
    )
    return _restrict(
        statement,
        wave_months=wave_months,
        programme_codes=programme_codes,
        programme_ids=programme_ids,
        treated=treated,
        is_treated=is_treated,
    )


def _known(out: sa.Table) -> sa.ColumnElement[bool]:
    """An outcome is known when a row exists whose activity is not "unknown" (NACE)."""
    return sa.and_(out.c.id.is_not(None), out.c.activity != "unknown")


def _restrict(
    statement: sa.Select,  # type: ignore[type-arg]
    *,
    wave_months: int | None,
    programme_codes: list[str] | None,
    programme_ids: set[int] | None,
    treated: bool | None,
    is_treated: sa.ColumnElement[bool],
) -> sa.Select:  # type: ignore[type-arg]
    """The population every analysis query shares: ended enrolments, then the filters."""
    enr, wav, prog = _table(Enrolment), _table(SurveyWave), _table(Programme)
    statement = statement.where(enr.c.ended_on.is_not(None))
    if wave_months is not None:
        statement = statement.where(wav.c.months_after_award == wave_months)
    if programme_codes:
        statement = statement.where(prog.c.code.in_(programme_codes))
    if programme_ids is not None:
        statement = statement.where(prog.c.id.in_(sorted(programme_ids)))
    if treated is not None:
        statement = statement.where(is_treated if treated else ~is_treated)
    return statement


def analysis_frame(
    *,
    session: Session,
    wave_months: int | None = None,
    programme_codes: list[str] | None = None,
    programme_ids: set[int] | None = None,
    treated: bool | None = None,
) -> pd.DataFrame:
    """One row per graduate of a wave's population: who they are (pseudonymously), what is known.

    The invitation table holds a wave's population, one row per graduate whether or not an
    invitation was sent (``invited`` is True when it was; an earlier opt-out leaves it
    unsent). ``treated`` is True for holders of an active credential from the enrolment that
    qualified them for the wave; non-completers surveyed at the same time are the comparison
    group. ``cohort`` is the year the enrolment ended (the award year for holders). Columns
    are ``ANALYSIS_COLUMNS``; identity tables are never read.
    """
    statement = analysis_select(
        wave_months=wave_months,
        programme_codes=programme_codes,
        programme_ids=programme_ids,
        treated=treated,
    )
    chosen = statement.selected_columns
    frame = _frame(session, statement.order_by(chosen.learner_id, chosen.wave_id), raw=True)
    return _typed_analysis_frame(frame)


GROUPABLE = ("programme", "cohort", "wave_months", "treated")


def _counting_select(
    *,
    group_by: tuple[str, ...],
    outcome_join: str = "left",
    wave_months: int | None = None,
    programme_codes: list[str] | None = None,
    programme_ids: set[int] | None = None,
    treated: bool | None = None,
) -> tuple[sa.Select, dict[str, sa.ColumnElement[Any]]]:  # type: ignore[type-arg]
    """The rows of :func:`analysis_select` with only the joins aggregation needs.

    Same population and definitions as ``analysis_select``, but the learner and wave tables
    and the credential lookup are joined only when a group or filter uses them: at a
    million rows every unnecessary join costs seconds.
    """
    inv, enr, prog = _table(Invitation), _table(Enrolment), _table(Programme)
    wav, cred, resp, out = (
        _table(SurveyWave),
        _table(Credential),
        _table(Response),
        _table(Outcome),
    )
    from_clause = inv.join(enr, enr.c.id == inv.c.enrolment_id).join(
        prog, prog.c.id == enr.c.programme_id
    )
    outcome_on = sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id)
    if outcome_join == "inner":
        from_clause = from_clause.join(out, outcome_on)
    else:
        from_clause = from_clause.outerjoin(resp, resp.c.invitation_id == inv.c.id).outerjoin(
            out, outcome_on
        )
    needs_wave = wave_months is not None or "wave_months" in group_by
    if needs_wave:
        from_clause = from_clause.join(wav, wav.c.id == inv.c.wave_id)
    is_treated = sa.exists().where(cred.c.enrolment_id == enr.c.id).where(cred.c.status == "active")
    columns: dict[str, sa.ColumnElement[Any]] = {
        "programme": prog.c.code,
        "cohort": sa.cast(sa.extract("year", enr.c.ended_on), sa.Integer),
        "treated": is_treated,
        "activity": out.c.activity,
        "hours_per_week": out.c.hours_per_week,
        "salary_annual": out.c.salary_annual,
        "salary_excluded": out.c.salary_excluded,
        "known": _known(out),
        "invited": inv.c.sent_at.is_not(None),
    }
    if needs_wave:
        columns["wave_months"] = wav.c.months_after_award
    if outcome_join != "inner":
        columns["response_status"] = resp.c.status
    statement = _restrict(
        sa.select(sa.literal(1)).select_from(from_clause),
        wave_months=wave_months,
        programme_codes=programme_codes,
        programme_ids=programme_ids,
        treated=treated,
        is_treated=is_treated,
    )
    columns.update({item: out.c[item] for item in (*_LIKERT, "nps", "job_related")})
    return statement, columns


_LIKERT = ("satisfaction", "voice_meaningful", "voice_future", "voice_skills")


def metric_counts(
    *,
    session: Session,
    group_by: tuple[str, ...] = ("programme",),
    fulltime_hours: float | None = 30.0,
    **filters: object,
) -> pd.DataFrame:
    """Every count the standard metrics need, aggregated in the database, one row per group.

    The columns are those :func:`outcomes.analysis.metrics.metrics_from_counts` expects;
    full-time follows :func:`outcomes.analysis.metrics.fulltime_mask` (hours decide when
    known). ``filters`` are those of :func:`analysis_select`.
    """
    unknown = [column for column in group_by if column not in GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group by {unknown}: use {', '.join(GROUPABLE)}")
    base, c = _counting_select(group_by=group_by, **filters)  # type: ignore[arg-type]

    def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    activity = sa.func.coalesce(c["activity"], "unknown")
    hours = c["hours_per_week"]
    employed = activity.in_(EMPLOYED)
    if fulltime_hours is None:
        fulltime = activity == "employed_full_time"
    else:
        fulltime = sa.case(
            (hours.is_not(None), sa.and_(employed, hours >= fulltime_hours)),
            else_=activity == "employed_full_time",
        )
    columns: list[sa.ColumnElement[Any]] = [sa.func.count().label("graduates")]
    columns += [
        count_if(c["invited"]).label("invited"),
        count_if(c["response_status"] == "complete").label("responded"),
        count_if(c["response_status"] == "partial").label("partial"),
        count_if(c["known"]).label("known"),
    ]
    columns += [count_if(activity == code).label(f"n_{code}") for code in ACTIVITIES]
    columns += [
        count_if(fulltime).label("n_fulltime"),
        count_if(sa.and_(employed, c["job_related"].is_not(None))).label("n_related_answered"),
        count_if(sa.and_(employed, c["job_related"] >= 4)).label("n_related_agree"),
    ]
    for item in ("satisfaction", "voice_meaningful", "voice_future", "voice_skills"):
        columns += [
            count_if(c[item].is_not(None)).label(f"n_{item}"),
            count_if(c[item] >= 4).label(f"n_{item}_agree"),
        ]
    columns += [
        sa.func.coalesce(sa.func.sum(c["satisfaction"]), 0).label("satisfaction_sum"),
        sa.func.coalesce(sa.func.sum(c["satisfaction"] * c["satisfaction"]), 0).label(
            "satisfaction_sum_sq"
        ),
        count_if(c["nps"].is_not(None)).label("n_nps"),
        count_if(c["nps"] >= 9).label("n_promoters"),
        count_if(c["nps"] <= 6).label("n_detractors"),
    ]
    keys = [c[column].label(column) for column in group_by]
    statement = base.with_only_columns(*keys, *columns)
    if keys:
        positions: list[sa.ColumnElement[Any]] = [
            sa.literal_column(str(i + 1)) for i in range(len(keys))
        ]
        statement = statement.group_by(*positions).order_by(*positions)
    frame = _frame(session, statement, raw=True)
    for column in frame.columns[len(group_by) :]:
        frame[column] = pd.to_numeric(frame[column]).astype("float64").fillna(0.0)
    for column in group_by:
        if column in ("cohort", "wave_months"):
            frame[column] = pd.to_numeric(frame[column]).astype("int64")
        elif column == "treated":
            frame[column] = frame[column].astype(bool)
    return frame


def salary_rows(
    *, session: Session, group_by: tuple[str, ...] = ("programme",), **filters: object
) -> pd.DataFrame:
    """Employed rows with a salary: the small frame salary quantiles are computed from."""
    base, c = _counting_select(
        group_by=group_by,
        outcome_join="inner",
        **filters,  # type: ignore[arg-type]
    )
    statement = base.with_only_columns(
        *[c[column].label(column) for column in group_by],
        c["activity"].label("activity"),
        c["hours_per_week"].label("hours_per_week"),
        c["salary_annual"].label("salary_annual"),
        c["salary_excluded"].label("salary_excluded"),
    ).where(sa.and_(c["salary_annual"].is_not(None), c["activity"].in_(EMPLOYED)))
    frame = _frame(session, statement, raw=True)
    frame["activity"] = frame["activity"].astype("string")
    frame["hours_per_week"] = pd.to_numeric(frame["hours_per_week"]).astype("float64")
    frame["salary_annual"] = pd.to_numeric(frame["salary_annual"]).astype("float64")
    frame["salary_excluded"] = frame["salary_excluded"].fillna(False).astype(bool)
    for column in group_by:
        if column in ("cohort", "wave_months"):
            frame[column] = pd.to_numeric(frame[column]).astype("int64")
    return frame


def _typed_analysis_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column a stable dtype on both engines (booleans, nullable numbers)."""
    for column in ("treated", "invited", "responded", "partial", "known"):
        frame[column] = frame[column].fillna(False).astype(bool)
    for column in ("source", "activity"):
        frame[column] = frame[column].astype("string")
    for column in ("salary_excluded", "promoted", "job_search_censored"):
        frame[column] = frame[column].astype("boolean")
    for column in ("cohort", "age", "wave_months"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    for column in (
        "hours_per_week",
        "salary_annual",
        "months_to_first_job",
        "baseline_salary",
        "job_related",
        "satisfaction",
        "nps",
        "voice_meaningful",
        "voice_future",
        "voice_skills",
    ):
        frame[column] = pd.to_numeric(frame[column]).astype("Float64")
    return frame
