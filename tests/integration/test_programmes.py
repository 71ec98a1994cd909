"""Programmes: created, edited and retired through records/, audited with before and after,
scoped for managers; the command line round trip; migration 0008 up and down over a demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from outcomes.access.staff import create_staff_user, programme_scope, set_programme_scope
from outcomes.cli.main import app as cli
from outcomes.demo import generate_demo
from outcomes.errors import AccessDenied, IntegrityProblem, NotFound, ValidationProblem
from outcomes.records.programmes import (
    ProgrammeInvalid,
    create_programme,
    edit_programme,
    find_programme,
    list_programmes,
    parse_create,
    parse_update,
    retire_programme,
    show_programme,
)
from outcomes.store.engine import session_scope
from outcomes.store.migrate import alembic_config, upgrade
from outcomes.store.tables import AuditEvent, Programme
from tests import factories
from tests.unit.test_programme_input import VALID


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        statement = select(AuditEvent).where(col(AuditEvent.action) == action)
        return list(session.exec(statement.order_by(col(AuditEvent.id))).all())


def manager(session: Session, email: str, codes: list[str]) -> int:
    user = create_staff_user(session, email=email, role="manager", password=None, actor="test")
    set_programme_scope(session, user_id=user.id or 0, programme_codes=codes, actor="test")
    return user.id or 0


def test_a_created_programme_keeps_every_element_and_is_audited_with_its_elements(
    engine: Engine,
) -> None:
    data = parse_create(
        {
            **VALID,
            "eqf_level": "not applicable",
            "supervision_type": "supervised_online",
            "identity_checked": True,
            "grade_scheme": "0-10, pass at 5",
            "further_information": "https://example.org/mc-data",
            "stackability": "Counts towards the Expert Diploma",
            "prerequisites": "Spreadsheets",
            "launched_on": "2022-09-01",
            "redesigned_on": "2024-01-01",
            "achievement_id": "https://example.org/achievements/mc-data",
        }
    )
    with session_scope(engine) as session:
        create_programme(session, data, actor="cli:tester")
    with session_scope(engine) as session:
        shown = show_programme(session, "MC-DATA")
        row = find_programme(session, achievement_id="https://example.org/achievements/mc-data")
        assert row is not None and row.code == "MC-DATA"
        assert (row.eqf_level, row.eqf_applicable) == (None, False)
    assert shown["eqf_level"] == "not applicable"
    assert shown["redesigned_on"] == "2024-01-01" and shown["grade_scheme"] == "0-10, pass at 5"
    assert shown["supervision_type"] == "supervised_online" and shown["identity_checked"] is True
    [created] = events(engine, "programme.created")
    assert created.actor == "cli:tester" and created.detail is not None
    assert created.detail["before"] is None and created.detail["after"] == shown


def test_an_edit_is_audited_with_the_changed_elements_before_and_after(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_programme(session, parse_create(VALID), actor="cli:tester")
    with session_scope(engine) as session:
        edit_programme(
            session,
            "MC-DATA",
            parse_update({"ects": "7.5", "eqf_level": "not applicable", "title": VALID["title"]}),
            actor="cli:tester",
        )
    [edited] = events(engine, "programme.edited")
    assert edited.detail == {
        "before": {"ects": 6.0, "eqf_level": 6},
        "after": {"ects": 7.5, "eqf_level": "not applicable"},
    }
    with session_scope(engine) as session:  # the same values again: nothing to record
        edit_programme(session, "MC-DATA", parse_update({"ects": 7.5}), actor="cli:tester")
    assert len(events(engine, "programme.edited")) == 1


def test_an_edit_is_checked_as_a_whole_with_what_is_stored(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_programme(
            session, parse_create({**VALID, "launched_on": "2024-01-01"}), actor="cli:t"
        )
    with pytest.raises(ProgrammeInvalid) as refused, session_scope(engine) as session:
        edit_programme(
            session, "MC-DATA", parse_update({"redesigned_on": "2023-06-01"}), actor="cli:t"
        )
    assert refused.value.messages == {
        "redesigned_on": "Redesign date must come after the launch date (2024-01-01)."
    }


def test_a_programme_from_before_migration_0008_must_be_given_its_eqf_level_on_edit(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        legacy = factories.programme(session, "OLD-1")
        legacy.eqf_level = None
        session.add(legacy)
    with session_scope(engine) as session:
        assert show_programme(session, "OLD-1")["eqf_level"] is None  # never recorded
    with pytest.raises(ProgrammeInvalid) as refused, session_scope(engine) as session:
        edit_programme(session, "OLD-1", parse_update({"ects": 3}), actor="cli:t")
    assert refused.value.messages == {"eqf_level": "EQF level is required."}


def test_a_duplicate_code_is_a_message_on_the_code(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_programme(session, parse_create(VALID), actor="cli:t")
    with pytest.raises(ProgrammeInvalid) as refused, session_scope(engine) as session:
        create_programme(session, parse_create(VALID), actor="cli:t")
    assert refused.value.messages == {"code": "Code 'MC-DATA' is already used by a programme."}


def test_the_database_refuses_a_code_outside_the_vocabularies(engine: Engine) -> None:
    with pytest.raises(IntegrityProblem), session_scope(engine) as session:
        programme = factories.programme(session, "BAD-1")
        programme.assessment_type = "vibes"
        session.add(programme)
    with pytest.raises(IntegrityProblem), session_scope(engine) as session:
        programme = factories.programme(session, "BAD-2")
        programme.eqf_applicable = False  # "not applicable" with a level: refused
        session.add(programme)


def test_a_retired_programme_stays_for_history_and_is_no_longer_edited(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        kept = factories.programme(session, "DA-101")
        factories.credential(
            session, factories.completed_enrolment(session, factories.learner(session), kept)
        )
        factories.programme(session, "UX-201")
    with session_scope(engine) as session:
        retire_programme(session, "DA-101", actor="cli:t")
        retire_programme(session, "DA-101", actor="cli:t")  # again: nothing more
    with session_scope(engine) as session:
        codes = {r["code"]: r["status"] for r in list_programmes(session)}
        with pytest.raises(ValidationProblem, match="retired"):
            edit_programme(session, "DA-101", parse_update({"ects": 2}), actor="cli:t")
    assert codes == {"DA-101": "retired", "UX-201": "active"}
    [retired] = events(engine, "programme.retired")
    assert retired.detail == {"before": {"status": "active"}, "after": {"status": "retired"}}


def test_a_manager_changes_only_the_programmes_in_their_scope(engine: Engine) -> None:
    with session_scope(engine) as session:
        factories.programme(session, "DA-101")
        factories.programme(session, "UX-201")
        user_id = manager(session, "m@example.org", ["DA-101"])
    with session_scope(engine) as session:
        scope = programme_scope(session, user_id)
        assert [r["code"] for r in list_programmes(session, scope=scope)] == ["DA-101"]
        with pytest.raises(NotFound):
            show_programme(session, "UX-201", scope=scope)
        for change in (
            lambda: edit_programme(
                session,
                "UX-201",
                parse_update({"ects": 2}),
                actor="staff:1",
                role="manager",
                scope=scope,
            ),
            lambda: retire_programme(
                session, "UX-201", actor="staff:1", role="manager", scope=scope
            ),
        ):
            with pytest.raises(AccessDenied, match="not one of the programmes you manage"):
                change()
        edit_programme(
            session,
            "DA-101",
            parse_update({"ects": 2}),
            actor="staff:1",
            role="manager",
            scope=scope,
        )
    assert len(events(engine, "programme.edited")) == 1


def test_a_reviewer_may_not_change_programmes(engine: Engine) -> None:
    with pytest.raises(AccessDenied, match="may not create"), session_scope(engine) as session:
        create_programme(session, parse_create(VALID), actor="staff:9", role="reviewer")


def test_a_manager_who_creates_a_programme_has_it_added_to_their_scope(engine: Engine) -> None:
    with session_scope(engine) as session:
        factories.programme(session, "DA-101")
        user_id = manager(session, "m@example.org", ["DA-101"])
    with session_scope(engine) as session:
        created = create_programme(
            session, parse_create(VALID), actor=f"staff:{user_id}", role="manager", user_id=user_id
        )
        new_id = created.id
    with session_scope(engine) as session:
        assert new_id in (programme_scope(session, user_id) or set())
    [event] = events(engine, "programme.created")
    assert event.detail is not None and event.detail["added_to_scope_of"] == user_id


# --- the command line ---------------------------------------------------------------------------


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    return result


def test_the_command_line_round_trip_in_json(app_engine: Engine, tmp_path: Path) -> None:
    source = tmp_path / "programme.yaml"
    source.write_text(yaml.safe_dump({**VALID, "eqf_level": "not applicable"}), encoding="utf-8")
    created = run("programmes", "create", "--from-file", str(source), "--json")
    assert created.exit_code == 0, created.output
    record = json.loads(created.stdout)
    assert record["eqf_level"] == "not applicable" and record["status"] == "active"
    shown = run("programmes", "show", "MC-DATA", "--json")
    assert json.loads(shown.stdout) == record
    edited = run(
        "programmes", "edit", "MC-DATA", "--ects", "7.5", "--redesigned-on=2025-01-01", "--json"
    )
    assert edited.exit_code == 0, edited.output
    assert json.loads(edited.stdout) == {**record, "ects": 7.5, "redesigned_on": "2025-01-01"}
    retired = run("programmes", "retire", "MC-DATA", "--json")
    assert json.loads(retired.stdout)["status"] == "retired"
    listed = run("programmes", "list", "--json")
    assert [r["code"] for r in json.loads(listed.stdout)] == ["MC-DATA"]
    assert {e.action for e in events(app_engine, "programme.edited")} == {"programme.edited"}


def test_the_command_line_names_every_invalid_element_in_one_line_each(
    app_engine: Engine,
) -> None:
    refused = run(
        "programmes",
        "create",
        "--code",
        "MC-X",
        "--ects",
        "0",
        "--eqf-level",
        "9",
        "--issuer-country",
        "XX",
        "--participation-form",
        "by post",
    )
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert "Error: ECTS must be a positive number of credits, at most 300; 0 is not." in lines
    assert (
        "Error: Issuer country must be an ISO 3166-1 alpha-2 code such as ES; 'XX' is not one."
        in lines
    )
    assert "Error: Title is required." in lines
    assert all(line.startswith("Error: ") for line in lines)
    with Session(app_engine) as session:
        assert session.exec(select(Programme)).first() is None


# --- migration 0008 -----------------------------------------------------------------------------


def columns(engine: Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("programme")}


@pytest.mark.slow
def test_migration_0008_codes_the_demo_programmes_and_goes_back_without_losing_their_words(
    engine: Engine,
) -> None:
    generate_demo(engine, learners=120, seed=3)
    with Session(engine) as session:
        before = {
            p.code: (p.assessment_description, p.quality_assurance, p.assessment_type)
            for p in session.exec(select(Programme)).all()
        }
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    assert "eqf_applicable" not in columns(engine) and "assessment_description" not in columns(
        engine
    )
    with engine.connect() as conn:
        words = dict(conn.execute(sa.text("SELECT code, assessment_type FROM programme")).all())
    assert words == {code: text for code, (text, _, _) in before.items()}
    assert upgrade(engine) == "0008"
    with Session(engine) as session:
        after = {
            p.code: (p.assessment_description, p.quality_assurance, p.assessment_type)
            for p in session.exec(select(Programme)).all()
        }
        data = session.exec(select(Programme).where(col(Programme.code) == "MC-DATA")).one()
        assert data.quality_assurance_type == "internal_and_external" and data.eqf_applicable
    assert after == before, "the codes the migration derives are the ones the demo writes"
