"""The ``outcomes privacy`` commands, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from outcomes.cli.main import app
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, Enrolment, Learner, LearnerIdentity
from tests import factories


@pytest.fixture
def cli_engine(app_engine: Engine) -> Engine:
    """The CLI pointed at a migrated database (SQLite and PostgreSQL) holding ana@example.org."""
    with session_scope(app_engine) as session:
        factories.learner(session, email="ana@example.org")
    return app_engine


def test_export_erase_and_purge_from_the_command_line(cli_engine: Engine, tmp_path: Path) -> None:
    engine = cli_engine
    with session_scope(engine) as session:
        who = session.exec(select(Learner)).one()
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


def test_an_export_that_cannot_be_written_leaves_no_files_and_no_audit_event(
    cli_engine: Engine, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("someone else's file")
    result = CliRunner().invoke(app, ["privacy", "export", "ana@example.org", "--out", str(taken)])
    assert result.exit_code != 0
    assert "already exists" in str(result.exception)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".*partial"))
    with session_scope(cli_engine) as session:
        assert session.exec(select(AuditEvent)).all() == [], "no export happened, none recorded"


def _tree(root: Path) -> dict[str, bytes | str]:
    """Everything under ``root``: file contents, and symlink targets, by relative path."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


def _exported_events(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(
            session.exec(select(AuditEvent).where(AuditEvent.action == "privacy.exported")).all()
        )


@pytest.mark.parametrize("name", ["export", "export.zip"])
def test_symlinks_planted_at_the_staging_names_or_the_target_redirect_nothing(
    cli_engine: Engine, tmp_path: Path, name: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("precious")
    exports = tmp_path / "exports"
    exports.mkdir()
    # The names the export used to stage under, pointing outside.
    (exports / f".{name}.partial").symlink_to(outside, target_is_directory=True)
    (exports / f"{name}.partial").symlink_to(outside / "victim")
    before = _tree(outside)
    runner = CliRunner()

    result = runner.invoke(
        app, ["privacy", "export", "ana@example.org", "--out", str(exports / name)]
    )
    assert result.exit_code == 0, result.output
    assert _tree(outside) == before
    assert (exports / name).exists() and not (exports / name).is_symlink()

    planted = exports / f"planted-{name}"
    planted.symlink_to(outside / ("victim" if name.endswith(".zip") else ""))
    refused = runner.invoke(app, ["privacy", "export", "ana@example.org", "--out", str(planted)])
    assert refused.exit_code != 0
    assert str(refused.exception) == (
        f"{planted} already exists: choose a new name for the export."
    )
    assert _tree(outside) == before
    assert planted.is_symlink()
    assert sorted(p.name for p in exports.iterdir()) == sorted(
        [f".{name}.partial", f"{name}.partial", name, planted.name]
    ), "no staging directory is left behind"
    assert _exported_events(cli_engine) == 1, "the refused export is not recorded"


@pytest.mark.parametrize("name", ["export", "export.zip"])
@pytest.mark.parametrize("kind", ["file", "directory", "empty directory", "dangling symlink"])
def test_an_existing_target_is_refused_and_left_as_it_was(
    cli_engine: Engine, tmp_path: Path, name: str, kind: str
) -> None:
    root = tmp_path / "exports"  # apart from the SQLite files, which change as it runs
    root.mkdir()
    target = root / name
    if kind == "file":
        target.write_text("someone else's file")
    elif kind == "directory":
        target.mkdir()
        (target / "keep.txt").write_text("someone else's file")
    elif kind == "empty directory":
        target.mkdir()
    else:
        target.symlink_to(root / "nowhere")
    before = _tree(root)
    result = CliRunner().invoke(app, ["privacy", "export", "ana@example.org", "--out", str(target)])
    assert result.exit_code != 0
    assert str(result.exception) == f"{target} already exists: choose a new name for the export."
    assert _tree(root) == before
    assert [p.name for p in root.iterdir()] == [name], "no staging directory is left behind"
    assert _exported_events(cli_engine) == 0


@pytest.mark.parametrize("name", ["export", "export.zip"])
def test_exports_are_private_to_their_owner(cli_engine: Engine, tmp_path: Path, name: str) -> None:
    target = tmp_path / "new" / "deeper" / name
    result = CliRunner().invoke(app, ["privacy", "export", "ana@example.org", "--out", str(target)])
    assert result.exit_code == 0, result.output
    for created in (tmp_path / "new", tmp_path / "new" / "deeper"):
        assert stat.S_IMODE(created.stat().st_mode) == 0o700, created
    if name.endswith(".zip"):
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert "learner.json" in zipfile.ZipFile(target).namelist()
    else:
        assert stat.S_IMODE(target.stat().st_mode) == 0o700
        files = list(target.iterdir())
        assert len(files) == 11 and {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}


def test_purge_and_erase_report_what_they_did_and_whom_they_left(cli_engine: Engine) -> None:
    with session_scope(cli_engine) as session:
        ana = session.exec(select(Learner)).one()
        ana.created_at = dt.datetime(2015, 3, 1, tzinfo=dt.UTC)
        ana.birth_year = 1990
        session.add(ana)
        session.add(
            Enrolment(
                learner_id=ana.id,
                programme_id=factories.programme(session).id,
                started_on=dt.date(2015, 3, 2),
                status="in_progress",
            )
        )
        bo = factories.learner(session, email="bo@example.org")
        bo.created_at = dt.datetime(2015, 3, 1, tzinfo=dt.UTC)
        session.add(bo)
    runner = CliRunner()
    result = runner.invoke(app, ["privacy", "purge", "--older-than", "2", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Erased 1 learners whose last award or enrolment end")
    assert "left 1 learners with an enrolment open since before" in result.output
    with session_scope(cli_engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "privacy.purged")).one()
    assert event.detail is not None and event.detail["learners_left"] == 1

    result = runner.invoke(
        app, ["privacy", "erase", "ana@example.org", "--yes", "--mode", "anonymise"]
    )
    assert result.exit_code == 0, result.output
    assert "1 birth-year and date values coarsened, 0 grades removed." in result.output
