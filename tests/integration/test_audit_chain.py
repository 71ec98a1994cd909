"""The audit hash chain in the database: stable canonical forms, chaining under concurrent
writers, the backfill of migration 0004, append-only triggers, and ``outcomes audit verify``.

Every test runs on SQLite and on PostgreSQL. To tamper, a test lifts the append-only triggers
as the owner (which the app's runtime role cannot; see test_runtime_role.py) and then edits,
removes or adds rows with plain SQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from outcomes import audit
from outcomes.audit_chain import GENESIS_HASH, canonical_form, link_hash
from outcomes.cli.main import app as cli_app
from outcomes.demo import generate_demo
from outcomes.demo.writer import empty_tables
from outcomes.store.engine import session_scope
from outcomes.store.migrate import alembic_config, upgrade
from outcomes.store.tables import AuditEvent
from tests.conftest import TEST_SECRET_KEY

HOSTILE_DETAIL: dict[str, Any] = {
    "names": ["Zoë", "Ærøskøbing", "İstanbul", "東京", "عربى", "𝄞 clef", "e\u0301", "😀"],
    "nested": {"b": [1, {"c": [None, True, False]}], "a": {"": "empty key"}},
    "numbers": [0, -0.0, 0.1, 1e-7, 1.5e300, 2**53 + 1, -17],
    "text": 'quotes " and \\ backslash\nnew line\ttab \u2028 separator',
    "Z": "upper-case key sorts first",
}
MOMENTS = [
    dt.datetime(2026, 1, 1, 0, 0, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 2, 30, 0, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
]


def _rows(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)))


def _fields(event: AuditEvent) -> dict[str, Any]:
    return event.model_dump()


def _verify(engine: Engine) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli_app,
        ["audit", "verify"],
        env={"OUTCOMES_DATABASE_URL": url, "OUTCOMES_SECRET_KEY": TEST_SECRET_KEY},
    )
    return result.exit_code, result.output.strip()


def _tamper(engine: Engine, *statements: str) -> None:
    """Run ``statements`` as the owner with the append-only triggers lifted."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)


def _record_some(engine: Engine, n: int) -> None:
    for i in range(n):
        with session_scope(engine) as session:
            audit.record(
                session,
                actor=f"staff:{i}",
                action="staff.created",
                object_type="staff_user",
                object_id=i,
                detail={"n": i, "who": "Zoë"},
            )


def test_the_canonical_form_survives_the_round_trip_through_the_database(engine: Engine) -> None:
    before = []
    with session_scope(engine) as session:
        for moment in MOMENTS:
            event = AuditEvent(
                occurred_at=moment,
                actor="cli:ana",
                action="privacy.exported",
                object_type="learner",
                object_id="7",
                detail=HOSTILE_DETAIL,
            )
            before.append(canonical_form(_fields(event)))
            session.add(event)
        recorded = audit.record(
            session, actor="staff:1", action="signin.failed", object_id=12, detail=HOSTILE_DETAIL
        )
        before.append(canonical_form(_fields(recorded)))
    after = [canonical_form(_fields(event)) for event in _rows(engine)]
    assert after == before
    with engine.connect() as conn:  # and read without the ORM, as the migration reads
        raw = conn.execute(
            sa.select(
                *(
                    AuditEvent.__table__.c[n]
                    for n in (
                        "occurred_at",
                        "actor",
                        "action",
                        "object_type",
                        "object_id",
                        "detail",
                    )
                )
            ).order_by(AuditEvent.__table__.c.id)
        ).mappings()
        assert [canonical_form(row) for row in raw] == before
    assert '"occurred_at":"2026-03-29T07:30:00.000010Z"' in before[2]


def test_events_of_one_unit_of_work_chain_to_each_other_and_to_the_last_stored(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        first = audit.record(session, actor="a", action="one")
        second = audit.record(session, actor="a", action="two", detail={"k": [1, 2]})
        assert (first.prev_hash, second.prev_hash) == (GENESIS_HASH, first.chain_hash)
    with session_scope(engine) as session:
        third = audit.record(session, actor="b", action="three")
    with session_scope(engine) as session:  # many at once: one batched INSERT, in order
        for i in range(40):
            audit.record(session, actor="c", action="many", detail={"i": i})
    events = _rows(engine)
    assert [e.action for e in events] == ["one", "two", "three", *["many"] * 40]
    assert [e.detail for e in events[3:]] == [{"i": i} for i in range(40)]
    assert third.prev_hash == events[1].chain_hash
    for before, event in zip([None, *events], events, strict=False):
        assert event.prev_hash == (before.chain_hash if before else GENESIS_HASH)
        assert event.chain_hash == link_hash(event.prev_hash or "", canonical_form(_fields(event)))


def test_a_rolled_back_unit_of_work_leaves_the_chain_whole(engine: Engine) -> None:
    _record_some(engine, 1)
    with pytest.raises(RuntimeError, match="the action failed"), session_scope(engine) as session:
        audit.record(session, actor="a", action="rolled.back")
        raise RuntimeError("the action failed")
    with Session(engine) as session:  # one session, two transactions
        audit.record(session, actor="a", action="first")
        session.commit()
        audit.record(session, actor="a", action="second")
        session.commit()
    with session_scope(engine) as session:
        report = audit.verify_trail(session)
    assert report.intact and report.events == 3


def test_concurrent_writers_chain_in_id_order(engine: Engine) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(8):
                with session_scope(engine) as session:
                    audit.record(session, actor=f"w{worker}", action="one", detail={"i": i})
                    audit.record(session, actor=f"w{worker}", action="two", detail={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(engine) as session:
        report = audit.verify_trail(session)
    assert report.intact, report.sentence()
    assert report.events == 64


def test_migration_0004_chains_the_events_written_before_it(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with engine.begin() as conn:
        for i, moment in enumerate(MOMENTS):
            conn.execute(
                AuditEvent.__table__.insert().values(
                    occurred_at=moment, actor=f"old:{i}", action="old", detail=HOSTILE_DETAIL
                )
            )
    upgrade(engine)
    events = _rows(engine)
    assert [e.actor for e in events] == ["old:0", "old:1", "old:2"]
    assert events[0].prev_hash == GENESIS_HASH and all(e.chain_hash for e in events)
    _record_some(engine, 1)
    assert _verify(engine) == (
        0,
        f"The audit trail is intact: 4 events, the last (id 4) with chain hash "
        f"{_rows(engine)[-1].chain_hash}.",
    )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_event")


def test_verify_passes_an_intact_trail_after_demo_seeding_and_a_reset(engine: Engine) -> None:
    generate_demo(engine, learners=60, seed=3, demo_staff_key=TEST_SECRET_KEY)
    empty_tables(engine)
    with session_scope(engine) as session:
        audit.record(session, actor="cli:test", action="demo.reset")
    generate_demo(engine, learners=60, seed=3)
    code, sentence = _verify(engine)
    assert code == 0, sentence
    assert sentence.startswith("The audit trail is intact:")


def test_verify_says_so_when_the_trail_is_empty(engine: Engine) -> None:
    assert _verify(engine) == (0, "The audit trail is empty, so there is nothing to verify.")


@pytest.mark.parametrize(
    "statement, expected",
    [
        (
            'UPDATE audit_event SET detail = \'{"n": 99, "who": "Zoë"}\' WHERE id = 3',
            "event 3 was changed after it was written",
        ),
        ("UPDATE audit_event SET actor = 'staff:0' WHERE id = 5", "event 5 was changed"),
        (
            "DELETE FROM audit_event WHERE id = 3",
            "an event before event 4 is missing (removed after event 2)",
        ),
        (
            "INSERT INTO audit_event (occurred_at, actor, action) "
            "SELECT occurred_at, actor, action FROM audit_event WHERE id = 2",
            "event 6 has no chain hash, so it was inserted outside the application",
        ),
        (
            "INSERT INTO audit_event (occurred_at, actor, action, detail, prev_hash, chain_hash) "
            "SELECT occurred_at, actor, action, detail, prev_hash, chain_hash "
            "FROM audit_event WHERE id = 2",
            "event 6 links back to event 1, skipping events 2 to 5",
        ),
    ],
    ids=["edited-detail", "edited-actor", "deleted", "inserted-bare", "inserted-copy"],
)
def test_verify_names_the_first_broken_link(engine: Engine, statement: str, expected: str) -> None:
    _record_some(engine, 5)
    assert _verify(engine)[0] == 0
    _tamper(engine, statement)
    code, sentence = _verify(engine)
    assert code == 1
    assert sentence.startswith("The audit trail is broken: ") and expected in sentence
    assert "\n" not in sentence
