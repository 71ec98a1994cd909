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

from outcomes.analysis.metrics import LIKERT_ITEMS
from outcomes.store.tables import (
    AnalysisRow,
    AnalysisStale,
    Credential,
    Enrolment,
    Invitation,
    Learner,
    Outcome,
    Programme,
    Response,
    SurveyWave,
)
from outcomes.vocab import ACTIVITIES, EMPLOYED


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


def overview_counts(*, session: Session, scope: set[int] | None) -> dict[str, int]:
    """How many of each record the viewer's programmes hold (``scope`` None: the institution).

    Under a scope, learners are those enrolled on a programme in it; invitations, responses
    and outcomes follow their enrolment's programme; survey waves are those of a programme
    in it or that invited one of its enrolments.
    """
    prog, learner, enr, cred = (
        _table(Programme),
        _table(Learner),
        _table(Enrolment),
        _table(Credential),
    )
    wave, inv, resp, out = _table(SurveyWave), _table(Invitation), _table(Response), _table(Outcome)
    ids = sorted(scope) if scope is not None else None

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        statement = sa.select(sa.func.count()).select_from(table).where(sa.true(), *where)
        return int(session.execute(statement).scalar_one())

    def enrolled(enrolment_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
        # The record's enrolment is on a programme in scope (nothing extra when unscoped).
        if ids is None:
            return []
        in_scope = sa.select(enr.c.id).where(enr.c.programme_id.in_(ids))
        return [enrolment_id.in_(in_scope)]

    def on_programme(programme_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
        return [] if ids is None else [programme_id.in_(ids)]

    waves, learners, responses = [], [], []
    if ids is not None:
        scoped_invitations = sa.select(inv.c.id, inv.c.wave_id).where(*enrolled(inv.c.enrolment_id))
        waves.append(
            sa.or_(
                wave.c.programme_id.in_(ids),
                wave.c.id.in_(scoped_invitations.with_only_columns(inv.c.wave_id)),
            )
        )
        learners.append(
            learner.c.id.in_(sa.select(enr.c.learner_id).where(enr.c.programme_id.in_(ids)))
        )
        responses.append(resp.c.invitation_id.in_(scoped_invitations.with_only_columns(inv.c.id)))
    return {
        "programmes": count(prog, *on_programme(prog.c.id)),
        "learners": count(learner, *learners),
        "enrolments": count(enr, *on_programme(enr.c.programme_id)),
        "credentials": count(cred, *on_programme(cred.c.programme_id)),
        "survey waves": count(wave, *waves),
        "invitations sent": count(inv, inv.c.sent_at.is_not(None), *enrolled(inv.c.enrolment_id)),
        "responses": count(resp, *responses),
        "outcomes": count(out, *enrolled(out.c.enrolment_id)),
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
    wav, prog = _table(SurveyWave), _table(Programme)
    resp, out = _table(Response), _table(Outcome)
    active_credential = _holders()
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


def _holders() -> sa.Subquery:
    """Enrolments that hold an active credential, one row each (treated = joined here)."""
    cred = _table(Credential)
    return (
        sa.select(cred.c.enrolment_id)
        .where(cred.c.status == "active")
        .group_by(cred.c.enrolment_id)
        .subquery("holders")
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


# --- the analysis table: the flat rows the metrics panel counts -----------------------------
#
# Counting over the five-table join takes seconds at a million graduates, most of it in the
# joins. ``analysis_row`` holds the same rows flattened, one per graduate of a wave; database
# triggers (migration 0002) list every invitation a write touches in ``analysis_stale``, and
# the readers below rebuild those rows first. So the panel is always computed from the
# records as they are, whoever wrote them, at the price of one cheap check per read.

ANALYSIS_LOCK = 0x0A7A1_5E5  # PostgreSQL advisory lock: one refresher at a time
# Above this share of the table, rebuilding everything beats rebuilding row by row.
FULL_REBUILD_SHARE = 0.2
# Small batches keep PostgreSQL on index lookups: at 1,000 ids a batch refreshes in 40 ms,
# at 10,000 the planner switches to full scans and hash joins (0.9 s).
REFRESH_BATCH = 1_000


def analysis_row_select(*, few: bool = False) -> sa.Select:  # type: ignore[type-arg]
    """The definition of ``analysis_row``: one row per graduate of a wave, from the records.

    Same population and definitions as :func:`analysis_select` (ended enrolments; treated =
    an active credential from the qualifying enrolment; known = an outcome whose activity
    is not "unknown"), with the activity of a graduate without an outcome as "unknown".

    ``few`` says the caller restricts it to a batch of invitations: "treated" is then
    looked up per row (EXISTS, an index probe each), where the whole table is better served
    by one join to the holders' enrolments (PostgreSQL would run EXISTS once per row, half
    the time of a full rebuild; SQLite would group every credential for each batch).
    """
    inv, enr, cred = _table(Invitation), _table(Enrolment), _table(Credential)
    resp, out = _table(Response), _table(Outcome)
    joined = inv.join(enr, enr.c.id == inv.c.enrolment_id)
    if few:
        is_treated: sa.ColumnElement[bool] = (
            sa.exists().where(cred.c.enrolment_id == enr.c.id).where(cred.c.status == "active")
        )
    else:
        holders = _holders()
        joined = joined.outerjoin(holders, holders.c.enrolment_id == enr.c.id)
        is_treated = holders.c.enrolment_id.is_not(None)
    return (
        sa.select(
            inv.c.id.label("invitation_id"),
            inv.c.wave_id,
            enr.c.programme_id,
            sa.cast(sa.extract("year", enr.c.ended_on), sa.Integer).label("cohort"),
            is_treated.label("treated"),
            inv.c.sent_at.is_not(None).label("invited"),
            resp.c.status.label("response_status"),
            _known(out).label("known"),
            sa.func.coalesce(out.c.activity, "unknown").label("activity"),
            out.c.hours_per_week,
            out.c.salary_annual,
            out.c.salary_excluded,
            out.c.job_related,
            out.c.satisfaction,
            out.c.nps,
            out.c.voice_meaningful,
            out.c.voice_future,
            out.c.voice_skills,
        )
        .select_from(
            joined.outerjoin(resp, resp.c.invitation_id == inv.c.id).outerjoin(
                out, sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id)
            )
        )
        .where(enr.c.ended_on.is_not(None))
    )


def refresh_analysis_rows(*, session: Session, full: bool = False, commit: bool = True) -> int:
    """Rebuild the analysis rows the triggers listed as stale (all of them with ``full``).

    Returns how many invitations were refreshed. A write of its own: when something was
    stale the work is committed at once (unless ``commit`` is false), so the lock that keeps
    refreshers apart on PostgreSQL is not held through later reads. Reads call
    :func:`refresh_before_reading`, which never commits the caller's unit of work.

    Claiming the marks first (DELETE … RETURNING) makes concurrent writers safe: a mark not
    yet committed is invisible to the claim, so it survives for the next refresh.
    """
    stale, rows = _table(AnalysisStale), _table(AnalysisRow)
    if not full and session.execute(sa.select(stale.c.id).limit(1)).first() is None:
        return 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(ANALYSIS_LOCK)))
    if full:
        # TRUNCATE waits for writers still adding marks, so what it empties is committed.
        session.execute(sa.text("TRUNCATE analysis_stale") if postgresql else sa.delete(stale))
        claimed: set[int] = set()
    else:
        claim = sa.delete(stale).returning(stale.c.invitation_id)
        claimed = set(session.execute(claim).scalars())
    if not full and len(claimed) > 20 * REFRESH_BATCH:  # counting costs what 5 batches do
        present = session.execute(sa.select(sa.func.count()).select_from(rows)).scalar_one()
        full = len(claimed) > FULL_REBUILD_SHARE * present
    definition = analysis_row_select(few=not full)
    names = list(definition.selected_columns.keys())
    if full and postgresql:
        # Room for the hash joins of a rebuild to stay in memory (this transaction only).
        session.execute(sa.text("SET LOCAL work_mem = '128MB'"))
    if full:
        # TRUNCATE leaves no dead rows behind for the next scans to wade through (PostgreSQL;
        # SQLite empties a table by DELETE without WHERE just as fast).
        session.execute(sa.text("TRUNCATE analysis_row") if postgresql else sa.delete(rows))
        session.execute(sa.insert(rows).from_select(names, definition))
        refreshed = session.execute(sa.select(sa.func.count()).select_from(rows)).scalar_one()
    else:
        ids = sorted(claimed)
        invitation_id = definition.selected_columns.invitation_id
        for start in range(0, len(ids), REFRESH_BATCH):
            # Our own integer ids, rendered inline: a thousand bound parameters cost
            # PostgreSQL more to parse and plan than the refresh itself.
            batch: sa.BindParameter[list[int]] = sa.bindparam(
                "ids", ids[start : start + REFRESH_BATCH], literal_execute=True
            )
            session.execute(sa.delete(rows).where(rows.c.invitation_id.in_(batch)))
            session.execute(
                sa.insert(rows).from_select(names, definition.where(invitation_id.in_(batch)))
            )
        refreshed = len(ids)
    if not commit:
        return refreshed
    session.commit()
    if full and postgresql:
        # Fresh planner statistics, or PostgreSQL plans the next aggregation for an empty table.
        session.execute(sa.text("ANALYZE analysis_row"))
        session.commit()
    return refreshed


def refresh_before_reading(session: Session) -> None:
    """Bring stale analysis rows up to date for a read in ``session``, committing none of it.

    On PostgreSQL the refresh is a unit of work of its own, on a connection of its own: it
    commits itself (and releases the refreshers' lock) while the caller's transaction, and
    anything it wrote, stay the caller's. On SQLite every transaction is ``BEGIN IMMEDIATE``,
    so a second connection would wait for the caller's lock: the refresh runs inside the
    caller's transaction and is committed, or rolled back (the marks with it), by its owner.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        refresh_analysis_rows(session=session, commit=False)
        return
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    with Session(engine) as own:
        refresh_analysis_rows(session=own)


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
    row, prog, wav = _table(AnalysisRow), _table(Programme), _table(SurveyWave)
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
    known). ``filters`` are those of :func:`analysis_select`. Reads ``analysis_row``,
    refreshing its stale rows first (which commits; see :func:`refresh_analysis_rows`).
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
    frame = _lookups(session, _frame(session, statement, raw=True), group_by)
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
    frame = _lookups(session, _frame(session, statement, raw=True), group_by)
    frame["salary_annual"] = pd.to_numeric(frame["salary_annual"]).astype("float64")
    frame["salary_excluded"] = frame["salary_excluded"].fillna(False).astype(bool)
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
