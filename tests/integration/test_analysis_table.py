"""The analysis table always tells the same story as the records, whoever wrote them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import visitors
from sqlmodel import Session

from outcomes.config import get_settings
from outcomes.demo import generate_demo
from outcomes.privacy.rights import erase_learner
from outcomes.store import aggregates, analysis_table, freshness
from outcomes.store.engine import session_scope
from outcomes.store.migrate import alembic_config, upgrade

Rows = list[tuple[Any, ...]]


def _plain(row: sa.Row[Any]) -> tuple[Any, ...]:
    return tuple(int(v) if isinstance(v, bool) else v for v in row)


def stored(engine: Engine) -> Rows:
    with engine.connect() as conn:
        table = sa.table("analysis_row", *[sa.column(n) for n in _names()])
        return [_plain(r) for r in conn.execute(sa.select(table).order_by(sa.text("1")))]


def derived(engine: Engine) -> Rows:
    with engine.connect() as conn:
        statement = analysis_table.analysis_row_select().order_by(sa.text("1"))
        return [_plain(r) for r in conn.execute(statement)]


def _names() -> list[str]:
    return list(analysis_table.analysis_row_select().selected_columns.keys())


def stale_marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM analysis_stale")).scalar_one())


def refresh(engine: Engine, **kw: Any) -> int:
    with session_scope(engine) as session:
        return analysis_table.refresh_analysis_rows(session=session, **kw)


def first_id(conn: Connection, sql: str) -> int:
    return int(conn.execute(sa.text(sql)).scalar_one())


@pytest.fixture
def demo_engine(engine: Engine) -> Engine:
    generate_demo(engine, learners=250, seed=5)
    return engine


WRITES: dict[str, Callable[[Connection], object]] = {
    "an outcome changes": lambda c: c.execute(
        sa.text(
            "UPDATE outcome SET activity = 'seeking_employment', hours_per_week = NULL, "
            "salary_annual = NULL WHERE id IN (SELECT id FROM outcome ORDER BY id LIMIT 5)"
        )
    ),
    "an outcome is removed": lambda c: c.execute(
        sa.text("DELETE FROM outcome WHERE id = (SELECT max(id) FROM outcome)")
    ),
    "a credential is revoked": lambda c: c.execute(
        sa.text(
            "UPDATE credential SET status = 'revoked' "
            "WHERE id IN (SELECT id FROM credential ORDER BY id LIMIT 3)"
        )
    ),
    "a response goes back to partial": lambda c: c.execute(
        sa.text(
            "UPDATE response SET status = 'partial' "
            "WHERE id = (SELECT min(id) FROM response WHERE status = 'complete')"
        )
    ),
    "an invitation turns out not sent": lambda c: c.execute(
        sa.text(
            "UPDATE invitation SET sent_at = NULL "
            "WHERE id = (SELECT min(id) FROM invitation WHERE sent_at IS NOT NULL)"
        )
    ),
    "an enrolment's end date is corrected": lambda c: c.execute(
        sa.text(
            "UPDATE enrolment SET ended_on = :day WHERE id = (SELECT min(enrolment_id) FROM "
            "invitation)"
        ),
        {"day": "2031-06-30"},
    ),
    "an invitation is withdrawn with its answers": lambda c: delete_invitation(
        c, first_id(c, "SELECT max(invitation_id) FROM response")
    ),
}


def delete_invitation(conn: Connection, invitation_id: int) -> None:
    for sql in (
        "DELETE FROM outcome WHERE response_id IN "
        "(SELECT id FROM response WHERE invitation_id = :i)",
        "DELETE FROM response_revision WHERE response_id IN "
        "(SELECT id FROM response WHERE invitation_id = :i)",
        "DELETE FROM response WHERE invitation_id = :i",
        "DELETE FROM invitation WHERE id = :i",
    ):
        conn.execute(sa.text(sql), {"i": invitation_id})


@pytest.mark.parametrize("write", list(WRITES))
def test_every_kind_of_write_reaches_the_analysis_table(demo_engine: Engine, write: str) -> None:
    assert stored(demo_engine) == derived(demo_engine)
    assert stale_marks(demo_engine) == 0
    before = stored(demo_engine)
    with demo_engine.begin() as conn:
        WRITES[write](conn)
    assert stale_marks(demo_engine) > 0, "the triggers list the invitations the write touched"
    assert refresh(demo_engine) > 0
    assert stale_marks(demo_engine) == 0
    assert stored(demo_engine) == derived(demo_engine)
    assert stored(demo_engine) != before


def test_erasing_a_graduate_removes_their_analysis_rows(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        learner_id = first_id(conn, "SELECT min(learner_id) FROM invitation")
        invitations = first_id(
            conn, f"SELECT count(*) FROM invitation WHERE learner_id = {learner_id}"
        )
    rows_before = len(stored(demo_engine))
    with session_scope(demo_engine) as session:
        erase_learner(
            session, learner_id=learner_id, actor="test", mode="delete", settings=get_settings()
        )
    refresh(demo_engine)
    assert len(stored(demo_engine)) == rows_before - invitations
    assert stored(demo_engine) == derived(demo_engine)


def test_a_change_made_outside_the_app_shows_in_the_next_panel(demo_engine: Engine) -> None:
    def seeking() -> float:
        with session_scope(demo_engine) as session:
            counts = aggregates.metric_counts(session=session, group_by=(), fulltime_hours=30.0)
        return float(counts["n_seeking_employment"].iloc[0])

    before = seeking()
    with demo_engine.begin() as conn:
        changed = conn.execute(
            sa.text(
                "UPDATE outcome SET activity = 'seeking_employment' WHERE id IN "
                "(SELECT id FROM outcome WHERE activity = 'employed_full_time' "
                "ORDER BY id LIMIT 4)"
            )
        ).rowcount
    assert changed == 4
    assert seeking() == before + 4


def test_row_by_row_and_full_rebuilds_give_the_same_table(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = derived(demo_engine)
    with demo_engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO analysis_stale (invitation_id) SELECT id FROM invitation")
        )
        conn.execute(
            sa.text("UPDATE analysis_row SET activity = 'unknown', known = :f"), {"f": False}
        )
    monkeypatch.setattr(analysis_table, "REFRESH_BATCH", 37)
    monkeypatch.setattr(analysis_table, "FULL_REBUILD_SHARE", 10.0)  # never the full path
    assert refresh(demo_engine) == len(expected)
    assert stored(demo_engine) == expected
    with demo_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM analysis_row"))
    refresh(demo_engine, full=True)
    assert stored(demo_engine) == expected


def test_an_answer_saved_while_the_panel_refreshes_is_not_lost(
    demo_engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time, so no refresh can overlap a write")
    with demo_engine.connect() as conn:
        outcome_id = first_id(conn, "SELECT min(id) FROM outcome WHERE activity <> 'voluntary'")
    with demo_engine.begin() as conn:  # an earlier, committed change: its mark waits
        conn.execute(
            sa.text(
                "UPDATE outcome SET nps = CASE WHEN nps = 10 THEN 9 ELSE 10 END "
                f"WHERE id = {outcome_id}"
            )
        )
    graduate = demo_engine.connect()
    try:
        graduate.begin()
        graduate.execute(
            sa.text(f"UPDATE outcome SET activity = 'voluntary' WHERE id = {outcome_id}")
        )
        # The panel refreshes while the graduate's transaction is still open: it claims the
        # earlier mark and rebuilds the row without the uncommitted answer.
        assert refresh(demo_engine) == 1
        graduate.commit()
    finally:
        graduate.close()
    assert stale_marks(demo_engine) > 0, "the graduate's own mark survived the refresh"
    refresh(demo_engine)
    assert stored(demo_engine) == derived(demo_engine)
    with demo_engine.connect() as conn:
        activity = conn.execute(
            sa.text(
                "SELECT a.activity FROM analysis_row a JOIN invitation i ON i.id = a.invitation_id "
                "JOIN outcome o ON o.learner_id = i.learner_id AND o.wave_id = i.wave_id "
                f"WHERE o.id = {outcome_id}"
            )
        ).scalar_one()
    assert activity == "voluntary"


def test_upgrading_a_database_with_records_builds_its_analysis_rows(demo_engine: Engine) -> None:
    config = alembic_config(demo_engine)
    with demo_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    upgrade(demo_engine)
    assert stale_marks(demo_engine) == 0
    assert len(stored(demo_engine)) > 0
    assert stored(demo_engine) == derived(demo_engine)


def test_a_failed_bulk_load_still_puts_the_triggers_back(demo_engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="failed half-way"), freshness.bulk_load(demo_engine):
        with demo_engine.begin() as conn:  # written while marks are off...
            WRITES["a credential is revoked"](conn)
        raise RuntimeError("the import failed half-way")
    assert stored(demo_engine) == derived(demo_engine), "...and still counted, by the rebuild"
    with demo_engine.begin() as conn:
        WRITES["an outcome changes"](conn)
    assert stale_marks(demo_engine) > 0


def test_every_column_an_analysis_row_reads_is_watched_by_a_trigger() -> None:
    read = {
        (column.table.name, column.name)
        for statement in (
            analysis_table.analysis_row_select(),
            analysis_table.analysis_row_select(few=True),
        )
        for column in visitors.iterate(statement)
        if isinstance(column, sa.Column) and column.table.name in freshness.COUNTED
    }
    watched = {(table, "id") for table in freshness.COUNTED} | {
        (table, column) for table, columns in freshness.COUNTED.items() for column in columns
    }
    assert read - watched == set()
    assert ("outcome", "activity") in read  # the walk does see the columns


def test_a_reminder_or_an_unfinished_save_marks_nothing(demo_engine: Engine) -> None:
    with demo_engine.begin() as conn:
        conn.execute(sa.text("UPDATE invitation SET reminders = reminders + 1"))
        conn.execute(sa.text("UPDATE response SET language = 'es'"))
    assert stale_marks(demo_engine) == 0


def test_a_bulk_load_killed_midway_is_repaired_by_the_next_upgrade(demo_engine: Engine) -> None:
    assert freshness.triggers_in_place(demo_engine)
    with demo_engine.begin() as conn:  # the process died inside bulk_load...
        for statement in freshness.drop_triggers(demo_engine.dialect.name):
            conn.exec_driver_sql(statement)
        WRITES["a credential is revoked"](conn)  # ...and someone wrote meanwhile
    assert not freshness.triggers_in_place(demo_engine)
    upgrade(demo_engine)  # what make run and 'outcomes db upgrade' do
    assert freshness.triggers_in_place(demo_engine)
    assert stored(demo_engine) == derived(demo_engine)
    with demo_engine.begin() as conn:
        WRITES["an outcome changes"](conn)
    assert stale_marks(demo_engine) > 0


def test_the_triggers_a_bulk_load_restores_are_the_ones_the_migration_installed() -> None:
    # Migration 0002 carries its trigger statements written out (an old migration must not
    # change with today's code); freshness rebuilds them after bulk loads. If freshness
    # changes, a new revision must drop and recreate the triggers, and this test must then
    # compare against that revision instead.
    import importlib.util
    from pathlib import Path

    path = Path(freshness.__file__).parent / "migrations" / "versions" / "0002_analysis_table.py"
    spec = importlib.util.spec_from_file_location("revision_0002", path)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    for dialect in ("sqlite", "postgresql"):
        assert list(revision.CREATE_TRIGGERS[dialect]) == freshness.create_triggers(dialect)
        assert list(revision.DROP_TRIGGERS[dialect]) == freshness.drop_triggers(
            dialect, functions=True
        )


def test_a_read_never_commits_the_unit_of_work_it_is_called_in(demo_engine: Engine) -> None:
    # The metrics panel refreshes stale rows before counting; that refresh must not commit
    # what the caller wrote earlier in the same unit of work, which then rolls back.
    with demo_engine.begin() as conn:
        WRITES["an outcome changes"](conn)
    assert stale_marks(demo_engine) > 0
    with Session(demo_engine) as session:
        session.execute(sa.text("UPDATE programme SET title = 'Not kept' WHERE id = 1"))
        counts = aggregates.metric_counts(
            session=session, group_by=("programme",), fulltime_hours=30.0
        )
        assert not counts.empty
        session.rollback()
    with demo_engine.connect() as conn:
        titles = conn.execute(sa.text("SELECT title FROM programme WHERE id = 1")).scalar_one()
    assert titles != "Not kept"
    # Whatever the engine did with the refresh, the table tells the records' story.
    refresh(demo_engine)
    assert stored(demo_engine) == derived(demo_engine)
