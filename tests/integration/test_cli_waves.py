"""``outcomes waves``: create, list, show, launch and close a wave from the command line."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from outcomes import audit
from outcomes.fieldwork.waves import WaveInputProblem
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, SurveyWave
from tests.integration.test_cli import cli_env, outcomes
from tests.integration.test_waves import Institution

CREATE = [
    "waves",
    "create",
    "--instrument",
    "follow-up-6m",
    "--programme",
    "DA-101",
    "--programme",
    "UX-201",
    "--awarded-from",
    "2024-01-01",
    "--awarded-to",
    "2024-06-30",
    "--months",
    "6",
    "--opens",
    "2026-01-15",
    "--closes",
    "2099-04-30",
]


def _run(*args: str) -> str:
    from outcomes.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_a_wave_is_created_previewed_launched_twice_and_closed(app_engine: Engine) -> None:
    with session_scope(app_engine) as session:
        Institution(session)
    created = json.loads(
        _run(
            *CREATE,
            "--reminders",
            "3",
            "--reminder-gap-days",
            "5",
            "--response-target",
            "0.5",
            "--json",
        )
    )
    wave_id = created["id"]
    assert created["status"] == "draft" and created["programmes"] == ["DA-101", "UX-201"]
    assert (created["reminders"], created["reminder_gap_days"]) == (3, 5)
    assert created["response_target"] == 0.5 and created["knowledge_target"] is None

    plain = _run(*CREATE, "--name", "Second wave")
    assert plain.split("\t", 1)[0].isdigit() and "Second wave" in plain

    listed = json.loads(_run("waves", "list", "--json"))
    assert isinstance(listed, list) and {w["id"] for w in listed} == {wave_id, wave_id + 1}

    shown = json.loads(_run("waves", "show", str(wave_id), "--json"))
    assert shown["id"] == wave_id
    population = shown["population"]
    assert (population["total"], population["to_invite"]) == (9, 7)
    assert [row["programme"] for row in population["by_programme"]] == ["DA-101", "UX-201"]
    table = _run("waves", "show", str(wave_id))
    assert "Population: 9" in table and "DA-101" in table

    first = json.loads(_run("waves", "launch", str(wave_id), "--json"))
    assert first == {
        "wave_id": wave_id,
        "status": "open",
        "added": 7,
        "skipped": {"opted_out": 1, "erased": 1},
        "already_there": 0,
        "invitations": 9,
    }
    figures = json.loads(_run("waves", "show", str(wave_id), "--json"))["figures"]
    counts = figures["wave"]["counts"]
    assert (counts["population"], counts["invited"], counts["sent"]) == (9, 7, 0)
    assert "All programmes" in _run("waves", "show", str(wave_id))
    again = _run("waves", "launch", str(wave_id))
    assert again.strip() == (
        f"Wave {wave_id} is open: 0 invitations added, 0 skipped as opted out, 0 skipped as "
        "erased, 9 already there (9 in all)."
    )
    closed = _run("waves", "close", str(wave_id))
    assert closed.strip() == (
        f"Wave {wave_id} is closed: answering has stopped and 0 pending messages were cancelled."
    )
    with Session(app_engine) as session:
        wave = session.get(SurveyWave, wave_id)
        actors = set(
            session.exec(select(AuditEvent.actor).where(AuditEvent.object_type == "survey_wave"))
        )
    assert wave is not None and wave.status == "closed"
    assert actors == {audit.cli_actor()}


def test_a_bad_option_is_one_sentence_and_nothing_is_created(app_engine: Engine) -> None:
    from outcomes.cli.main import app

    with session_scope(app_engine) as session:
        Institution(session)
    result = CliRunner().invoke(app, [*CREATE, "--months", "300"])
    assert isinstance(result.exception, WaveInputProblem)
    assert str(result.exception) == (
        "The months after award must be a whole number from 0 to 240 (got 300)."
    )
    missing = CliRunner().invoke(app, ["waves", "show", "42"])
    assert str(missing.exception) == "No survey wave with id 42."
    with Session(app_engine) as session:
        assert session.exec(select(SurveyWave)).all() == []


def test_the_console_script_prints_the_error_on_one_line(
    app_engine: Engine, database_url: str
) -> None:
    reply = outcomes(*CREATE, "--closes", "2026-01-01", env=cli_env(database_url))
    assert reply.returncode == 1
    assert reply.stderr == (
        "Error: The wave must not close (2026-01-01) before it opens (2026-01-15).\n"
    )
