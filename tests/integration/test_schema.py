"""The data model's rules hold in the database itself, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from outcomes.errors import DatabaseError, IntegrityProblem
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.migrate import check_current, current_revision, head_revision, upgrade
from outcomes.store.tables import Outcome, Response, utcnow
from tests import factories


def test_migrations_and_models_agree(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_reaches_head(engine: sa.Engine) -> None:
    assert upgrade(engine) == head_revision()
    check_current(engine)


def test_a_duplicate_external_credential_id_is_rejected(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        prog = factories.programme(session)
        first = factories.completed_enrolment(session, factories.learner(session), prog)
        factories.credential(session, first, external_id="urn:uuid:same")
    with pytest.raises(IntegrityProblem, match="must be unique"), session_scope(engine) as session:
        other = factories.learner(session, email="luis@example.org")
        prog2 = session.get(type(prog), prog.id)
        assert prog2 is not None
        second = factories.completed_enrolment(session, other, prog2)
        factories.credential(session, second, external_id="urn:uuid:same")
    with Session(engine) as session:
        count = session.execute(sa.text("SELECT count(*) FROM credential")).scalar_one()
        learners = session.execute(sa.text("SELECT count(*) FROM learner")).scalar_one()
    assert (count, learners) == (1, 1), "the failed unit of work left nothing behind"


def test_an_invitation_has_at_most_one_response(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        enrolment = factories.completed_enrolment(
            session, factories.learner(session), factories.programme(session)
        )
        wave = factories.wave(session)
        invitation = factories.invitation(session, wave, enrolment)
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=wave.instrument_version_id,
                answers={"activity": "employed_full_time"},
            )
        )
    with pytest.raises(IntegrityProblem, match="already exists"), session_scope(engine) as session:
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=wave.instrument_version_id,
                answers={},
            )
        )


def test_a_record_pointing_at_a_missing_parent_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(IntegrityProblem, match="does not exist"), session_scope(engine) as s:
        s.add(
            Outcome(
                learner_id=999,
                enrolment_id=999,
                wave_id=999,
                source="survey",
                observed_on=dt.date(2025, 1, 1),
                activity="employed_full_time",
            )
        )


def test_an_unknown_activity_is_refused_by_the_schema(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        enrolment = factories.completed_enrolment(
            session, factories.learner(session), factories.programme(session)
        )
        wave = factories.wave(session)
    refused = pytest.raises(IntegrityProblem, match="not one the data model allows")
    with refused, session_scope(engine) as session:
        session.add(
            Outcome(
                learner_id=enrolment.learner_id,
                enrolment_id=enrolment.id,
                wave_id=wave.id,
                source="survey",
                observed_on=dt.date(2025, 1, 1),
                activity="astronaut",
            )
        )


def test_one_outcome_per_learner_and_wave(engine: sa.Engine) -> None:
    def add_outcome() -> None:
        with session_scope(engine) as session:
            session.add(
                Outcome(
                    learner_id=enrolment.learner_id,
                    enrolment_id=enrolment.id,
                    wave_id=wave.id,
                    source="employer",
                    observed_on=dt.date(2025, 1, 1),
                    activity="employed_part_time",
                )
            )

    with session_scope(engine) as session:
        enrolment = factories.completed_enrolment(
            session, factories.learner(session), factories.programme(session)
        )
        wave = factories.wave(session)
    add_outcome()
    with pytest.raises(IntegrityProblem, match="already exists"):
        add_outcome()


def test_timestamps_come_back_timezone_aware(engine: sa.Engine) -> None:
    moment = utcnow()
    with session_scope(engine) as session:
        record = factories.learner(session)
        record.consent_at = moment
        session.add(record)
    with Session(engine) as session:
        again = session.get(type(record), record.id)
        assert again is not None and again.consent_at is not None
        assert again.consent_at.tzinfo is not None
        assert abs((again.consent_at - moment).total_seconds()) < 0.001


def test_sqlite_connections_get_the_pragmas_the_product_relies_on(
    sqlite_engine: sa.Engine,
) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_sqlite_write_transactions_begin_immediate(sqlite_engine: sa.Engine) -> None:
    # A second writer must wait (and here time out) at BEGIN, not fail later at its first
    # write after reading: proof that transactions take the write lock when they begin.
    import sqlite3

    path = sqlite_engine.url.database
    assert path is not None
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM learner").scalar()
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_a_database_newer_than_the_code_is_explained(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dcafe9999'"))
    with pytest.raises(DatabaseError, match="newer version"):
        check_current(engine)
    with pytest.raises(DatabaseError, match="newer version"):
        upgrade(engine)


def test_an_empty_database_asks_for_the_upgrade(empty_engine: sa.Engine) -> None:
    assert current_revision(empty_engine) is None
    with pytest.raises(DatabaseError, match="outcomes db upgrade"):
        check_current(empty_engine)


def test_an_unreachable_database_is_one_sentence() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseError, match="could not be reached") as caught:
        check_current(engine)
    assert "\n" not in str(caught.value)


def test_a_bare_postgresql_url_names_the_driver_to_use() -> None:
    with pytest.raises(DatabaseError, match="psycopg"):
        make_engine("postgresql+psycopg2://u@h/db")
