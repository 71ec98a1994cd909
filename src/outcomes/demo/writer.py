"""Writing the demo into the database: id allocation, bulk inserts, emptiness and reset.

Ids are assigned here (from max(id) + 1), so a chunk's child rows reference their parents
without a round-trip; on PostgreSQL the id sequences are moved past them afterwards.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from outcomes.store import tables as models  # noqa: F401  (registers the tables on SQLModel.metadata)
from outcomes.store.tables import ANALYSIS_TABLES, IDENTITY_TABLES

# Insert order: parents before children.
DEMO_TABLES = (
    "programme",
    "learner",
    "learner_identity",
    "learner_external_id",
    "enrolment",
    "credential",
    "instrument_version",
    "survey_wave",
    "invitation",
    "response",
    "response_revision",
    "outcome",
)
# Never emptied: the audit trail is append-only (a trigger refuses it on PostgreSQL).
KEPT_ON_RESET = ("audit_event", "alembic_version")


def table(name: str) -> sa.Table:
    """The SQLAlchemy table of the data model called ``name``."""
    return SQLModel.metadata.tables[name]


def next_ids(connection: Connection) -> dict[str, int]:
    """The first free id of every demo table that has an ``id`` column."""
    result = {}
    for name in DEMO_TABLES:
        columns = table(name).c
        if "id" in columns:
            top = connection.execute(sa.select(sa.func.max(columns.id))).scalar()
            result[name] = (top or 0) + 1
    return result


def insert(connection: Connection, name: str, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``name`` with one executemany; return how many."""
    if rows:
        connection.execute(table(name).insert(), rows)
    return len(rows)


def rows_in(engine: Engine, names: tuple[str, ...] = ANALYSIS_TABLES + IDENTITY_TABLES) -> int:
    """How many rows the named tables hold together (0: nothing to overwrite)."""
    with engine.connect() as connection:
        return sum(
            connection.execute(sa.select(sa.func.count()).select_from(table(name))).scalar_one()
            for name in names
        )


def empty_tables(engine: Engine) -> dict[str, int]:
    """Delete every row of every table except the audit trail; children first.

    On PostgreSQL the id sequences of the emptied tables restart at 1.
    The tables are reflected from the database, so tables added by later migrations are
    emptied too, in an order their foreign keys allow.
    """
    reflected = sa.MetaData()
    deleted: dict[str, int] = {}
    with engine.begin() as connection:
        reflected.reflect(connection)
        for reflected_table in reversed(reflected.sorted_tables):
            if reflected_table.name in KEPT_ON_RESET:
                continue
            count = connection.execute(reflected_table.delete()).rowcount
            deleted[reflected_table.name] = count
            if connection.dialect.name == "postgresql" and "id" in reflected_table.c:
                # An emptied table starts again at id 1, as it would on SQLite.
                connection.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"),
                    {"t": reflected_table.name},
                )
    return deleted


def sync_sequences(connection: Connection) -> None:
    """Move PostgreSQL id sequences past the ids assigned here (no-op on SQLite)."""
    if connection.dialect.name != "postgresql":
        return
    for name in DEMO_TABLES:
        if "id" not in table(name).c:
            continue
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )
