"""SELECTs read into DataFrames, and the analysis frame: one row per graduate of a wave.

Keyword-only functions taking ``session=`` and returning DataFrames. The analysis frame and
the definitions it shares with the analysis table (:func:`credential_holders`,
:func:`outcome_known`) never select from ``learner_identity`` or ``learner_external_id``:
analysis frames are pseudonymous.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from outcomes.store.tables import (
    Credential,
    Enrolment,
    Invitation,
    Learner,
    Outcome,
    Programme,
    Response,
    SurveyWave,
    table_of,
)


def read_frame(
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
    if raw:
        # The driver's own tuples: from_records builds columns in C, three times faster
        # than transposing them in Python at a few hundred thousand rows.
        return pd.DataFrame.from_records(result.cursor.fetchall(), columns=keys)  # type: ignore[attr-defined]
    rows = result.fetchall()
    if not rows:
        return pd.DataFrame(columns=keys)
    # Column-wise construction: three times faster than DataFrame(rows) on Row objects.
    return pd.DataFrame(
        {key: list(values) for key, values in zip(keys, zip(*rows, strict=True), strict=True)}
    )


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
    inv, enr, lrn = table_of(Invitation), table_of(Enrolment), table_of(Learner)
    wav, prog = table_of(SurveyWave), table_of(Programme)
    resp, out = table_of(Response), table_of(Outcome)
    active_credential = credential_holders()
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
            outcome_known(out).label("known"),
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


def credential_holders() -> sa.Subquery:
    """Enrolments that hold an active credential, one row each (treated = joined here)."""
    cred = table_of(Credential)
    return (
        sa.select(cred.c.enrolment_id)
        .where(cred.c.status == "active")
        .group_by(cred.c.enrolment_id)
        .subquery("holders")
    )


def outcome_known(out: sa.Table) -> sa.ColumnElement[bool]:
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
    enr, wav, prog = table_of(Enrolment), table_of(SurveyWave), table_of(Programme)
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
    frame = read_frame(session, statement.order_by(chosen.learner_id, chosen.wave_id), raw=True)
    return _typed_analysis_frame(frame)


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
