"""The ``outcomes privacy`` commands, end to end on a temp SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from outcomes.cli import app
from outcomes.db import make_engine, session_scope
from outcomes.migrate import upgrade
from outcomes.models import AuditEvent, LearnerIdentity
from tests import factories


def test_export_erase_and_purge_from_the_command_line(outcomes_env: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{outcomes_env}")
    upgrade(engine)
    with session_scope(engine) as session:
        who = factories.learner(session, email="ana@example.org")
        factories.credential(
            session, factories.completed_enrolment(session, who, factories.programme(session))
        )
    runner = CliRunner()

    result = runner.invoke(
        app, ["privacy", "export", "ana@example.org", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 0, result.output
    exported = json.loads((tmp_path / "x" / "learner.json").read_text())
    assert exported["identity"][0]["email"] == "ana@example.org"

    refused = runner.invoke(app, ["privacy", "erase", "ana@example.org"], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(app, ["privacy", "erase", "ana@example.org", "--yes"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["privacy", "purge", "--older-than", "1", "--yes"])
    assert result.exit_code == 0 and "Erased 0 learners" in result.output  # already erased

    with session_scope(engine) as session:
        assert session.exec(select(LearnerIdentity)).all() == []
        events = session.exec(select(AuditEvent)).all()
    assert [e.action for e in events] == ["privacy.exported", "privacy.erased", "privacy.purged"]
    assert all(e.actor.startswith("cli:") for e in events)
    engine.dispose()


def test_an_export_that_cannot_be_written_leaves_no_files_and_no_audit_event(
    outcomes_env: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{outcomes_env}")
    upgrade(engine)
    with session_scope(engine) as session:
        factories.learner(session, email="ana@example.org")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("someone else's file")
    result = CliRunner().invoke(app, ["privacy", "export", "ana@example.org", "--out", str(taken)])
    assert result.exit_code != 0
    assert "already exists" in str(result.exception)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".*partial"))
    with session_scope(engine) as session:
        assert session.exec(select(AuditEvent)).all() == [], "no export happened, none recorded"
    engine.dispose()
