"""Keeping the analysis table fresh: the triggers that list stale rows, and bulk loads.

Triggers on the five tables an analysis row is derived from add the invitation ids a write
touches to ``analysis_stale``; ``analysis_table.refresh_analysis_rows`` rebuilds those rows before
the next read (docs/architecture.md, "The analysis table"). Both engines get the same marks:
row triggers on SQLite, statement triggers over transition tables on PostgreSQL (one
set-based insert per statement).

The triggers only *list* keys; the derivation lives once, in ``analysis_table.analysis_row_select``.
Written by hand because neither Alembic nor SQLAlchemy manages triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outcomes.store.analysis_table import refresh_analysis_rows
from outcomes.store.engine import session_scope
from outcomes.store.tables import AnalysisRow
from outcomes.vocab import OUTCOME_MEASURES

# For each source table: how a changed row ``{row}`` names the invitations it feeds —
# (join condition with ``invitation i``, or None when the row names the invitation itself;
# the invitation id expression).
MARKS: dict[str, tuple[str | None, str]] = {
    "invitation": (None, "{row}.id"),
    "response": (None, "{row}.invitation_id"),
    "outcome": ("i.learner_id = {row}.learner_id AND i.wave_id = {row}.wave_id", "i.id"),
    "credential": ("i.enrolment_id = {row}.enrolment_id", "i.id"),
    "enrolment": ("i.enrolment_id = {row}.id", "i.id"),
}
_ROW_COLUMNS = set(AnalysisRow.model_fields)
# The columns an analysis row is derived from (keys included): an update that changes none
# of them — a reminder counted, an answer saved without finishing — marks nothing.
COUNTED: dict[str, tuple[str, ...]] = {
    "invitation": ("sent_at", "wave_id", "learner_id", "enrolment_id"),
    "response": ("status", "invitation_id"),
    # The outcome measures the analysis table copies, and the keys that find the invitation.
    "outcome": ("learner_id", "wave_id", *(m for m in OUTCOME_MEASURES if m in _ROW_COLUMNS)),
    "credential": ("status", "enrolment_id"),
    "enrolment": ("programme_id", "ended_on"),
}
SQLITE_EVENTS = {"insert": ["NEW"], "update": ["OLD", "NEW"], "delete": ["OLD"]}
POSTGRESQL_EVENTS = (("insert", "INSERT", "NEW"), ("delete", "DELETE", "OLD"))


def _changed(table: str, old: str, new: str, distinct: str) -> str:
    return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in COUNTED[table])


def _mark(table: str, row: str, *, from_row: str | None) -> str:
    """The INSERT that lists the invitations fed by ``row`` (a transition table or NEW/OLD)."""
    join, ident = MARKS[table]
    select = f"SELECT {ident.format(row=row)}"
    if from_row is not None:
        select += f" FROM {from_row} {row}"
    if join is not None:
        select += " " + ("JOIN" if from_row else "FROM") + " invitation i"
        select += (" ON " if from_row else " WHERE ") + join.format(row=row)
    return f"INSERT INTO analysis_stale (invitation_id) {select}"


def create_triggers(dialect: str) -> list[str]:
    """The statements that create the marking triggers (and, on PostgreSQL, their functions)."""
    statements = []
    for table in MARKS:
        if dialect == "postgresql":
            statements.append(
                f"CREATE OR REPLACE FUNCTION outcomes_analysis_stale_{table}() RETURNS trigger "
                f"AS $$ BEGIN {_mark(table, 'r', from_row='changed_rows')}; RETURN NULL; END; $$ "
                "LANGUAGE plpgsql"
            )
            statements += [
                f"CREATE TRIGGER analysis_stale_{table}_{name} AFTER {event} ON {table} "
                f"REFERENCING {transition} TABLE AS changed_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION outcomes_analysis_stale_{table}()"
                for name, event, transition in POSTGRESQL_EVENTS
            ]
            # An update marks the rows before (a key may have moved away) and after, of the
            # rows whose counted columns changed.
            changed = _changed(table, "o", "n", "IS DISTINCT FROM")
            both = [
                _mark(
                    table,
                    "r",
                    from_row=f"(SELECT {alias}.* FROM old_rows o JOIN new_rows n "
                    f"ON n.id = o.id WHERE {changed})",
                )
                for alias in ("o", "n")
            ]
            statements.append(
                f"CREATE OR REPLACE FUNCTION outcomes_analysis_stale_{table}_update() "
                f"RETURNS trigger AS $$ BEGIN {both[0]}; {both[1]}; RETURN NULL; END; $$ "
                "LANGUAGE plpgsql"
            )
            statements.append(
                f"CREATE TRIGGER analysis_stale_{table}_update AFTER UPDATE ON {table} "
                "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION outcomes_analysis_stale_{table}_update()"
            )
        else:
            for event, rows in SQLITE_EVENTS.items():
                body = "; ".join(_mark(table, row, from_row=None) for row in rows)
                when = (
                    f"WHEN {_changed(table, 'OLD', 'NEW', 'IS NOT')} " if event == "update" else ""
                )
                statements.append(
                    f"CREATE TRIGGER analysis_stale_{table}_{event} AFTER {event.upper()} "
                    f"ON {table} FOR EACH ROW {when}BEGIN {body}; END"
                )
    return statements


def drop_triggers(dialect: str, *, functions: bool = False) -> list[str]:
    """The statements that drop the marking triggers (and their functions, if asked)."""
    statements = []
    for table in MARKS:
        if dialect == "postgresql":
            statements += [
                f"DROP TRIGGER IF EXISTS analysis_stale_{table}_{name} ON {table}"
                for name in ("insert", "delete", "update")
            ]
            if functions:
                statements += [
                    f"DROP FUNCTION IF EXISTS outcomes_analysis_stale_{table}()",
                    f"DROP FUNCTION IF EXISTS outcomes_analysis_stale_{table}_update()",
                ]
        else:
            statements += [
                f"DROP TRIGGER IF EXISTS analysis_stale_{table}_{event}" for event in SQLITE_EVENTS
            ]
    return statements


def triggers_in_place(engine: Engine) -> bool:
    """True when every marking trigger exists (a bulk load killed midway leaves none)."""
    dialect = engine.dialect.name
    expected = sum(s.startswith("CREATE TRIGGER") for s in create_triggers(dialect))
    if dialect == "postgresql":
        query = sa.text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND t.tgname LIKE :names ESCAPE '!'"
        )
    else:
        query = sa.text(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE :names ESCAPE '!'"
        )
    with engine.connect() as connection:
        found = connection.execute(query, {"names": "analysis!_stale!_%"}).scalar_one()
    return int(found) == expected


def restore_triggers(engine: Engine) -> None:
    """Recreate every marking trigger and rebuild the whole analysis table."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in [*drop_triggers(dialect), *create_triggers(dialect)]:
            connection.exec_driver_sql(statement)
    with session_scope(engine) as session:
        refresh_analysis_rows(session=session, full=True)


@contextmanager
def bulk_load(engine: Engine) -> Iterator[None]:
    """Write many rows without per-row marks, then rebuild the whole analysis table.

    Marking costs SQLite a trigger run per row (40 % of the demo generator's time). During a
    bulk load the triggers are dropped; afterwards they are restored and the whole table is
    rebuilt, which covers any write made meanwhile: on PostgreSQL, restoring a trigger waits
    for writers still open on that table, so their rows are committed before the rebuild
    reads; SQLite has one writer at a time.
    """
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in drop_triggers(dialect):
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        # If the process dies before this, the triggers stay lifted: ``migrate.upgrade``
        # (run by ``make run`` and ``outcomes db upgrade``) notices and restores them.
        restore_triggers(engine)


@contextmanager
def bulk_load_within(session: Session) -> Iterator[None]:
    """:func:`bulk_load` inside the caller's unit of work (an import's one transaction).

    The triggers are dropped, restored and the analysis table rebuilt in the caller's own
    transaction, so a process killed halfway leaves triggers and rows exactly as they were
    (DDL is transactional on both engines); on an error the caller's rollback undoes it all.
    On PostgreSQL dropping a trigger locks its table until commit: readers of those tables
    wait for the load. Needs the privileges of the tables' owner (the operator's role).
    """
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    for statement in drop_triggers(dialect):
        connection.exec_driver_sql(statement)
    yield
    for statement in create_triggers(dialect):
        connection.exec_driver_sql(statement)
    refresh_analysis_rows(session=session, full=True, commit=False)
