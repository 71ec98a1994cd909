"""The analysis table: the flat rows the metrics panel counts, and their refresh.

Counting over the five-table join takes seconds at a million graduates, most of it in the
joins. ``analysis_row`` holds the same rows flattened, one per graduate of a wave; database
triggers (migration 0002, :mod:`outcomes.store.freshness`) list every invitation a write
touches in ``analysis_stale``, and readers rebuild those rows first
(:func:`refresh_before_reading`). So the panel is always computed from the records as they
are, whoever wrote them, at the price of one cheap check per read.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from outcomes.store.frames import credential_holders, outcome_known
from outcomes.store.tables import (
    AnalysisRow,
    AnalysisStale,
    Credential,
    Enrolment,
    Invitation,
    Outcome,
    Response,
    table_of,
)

ANALYSIS_LOCK = 0x0A7A1_5E5  # PostgreSQL advisory lock: one refresher at a time
# Above this share of the table, rebuilding everything beats rebuilding row by row.
FULL_REBUILD_SHARE = 0.2
# Small batches keep PostgreSQL on index lookups: at 1,000 ids a batch refreshes in 40 ms,
# at 10,000 the planner switches to full scans and hash joins (0.9 s).
REFRESH_BATCH = 1_000


def analysis_row_select(*, few: bool = False) -> sa.Select:  # type: ignore[type-arg]
    """The definition of ``analysis_row``: one row per graduate of a wave, from the records.

    Same population and definitions as :func:`outcomes.store.frames.analysis_select` (ended
    enrolments; treated = an active credential from the qualifying enrolment; known = an
    outcome whose activity is not "unknown"), with the activity of a graduate without an
    outcome as "unknown".

    ``few`` says the caller restricts it to a batch of invitations: "treated" is then
    looked up per row (EXISTS, an index probe each), where the whole table is better served
    by one join to the holders' enrolments (PostgreSQL would run EXISTS once per row, half
    the time of a full rebuild; SQLite would group every credential for each batch).
    """
    inv, enr, cred = table_of(Invitation), table_of(Enrolment), table_of(Credential)
    resp, out = table_of(Response), table_of(Outcome)
    joined = inv.join(enr, enr.c.id == inv.c.enrolment_id)
    if few:
        is_treated: sa.ColumnElement[bool] = (
            sa.exists().where(cred.c.enrolment_id == enr.c.id).where(cred.c.status == "active")
        )
    else:
        holders = credential_holders()
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
            outcome_known(out).label("known"),
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
    stale, rows = table_of(AnalysisStale), table_of(AnalysisRow)
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
