"""``outcomes sources``: record, import, template and list outcomes from other sources."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from outcomes.errors import NotFound, OutcomesError
from outcomes.fieldwork.sources_csv import CSV_COLUMNS
from outcomes.store.tables import AuditEvent, Outcome
from tests.integration.test_sources import _population


def _run(*args: str) -> object:
    from outcomes.cli.main import app

    return CliRunner().invoke(app, ["sources", *args])


def _outcomes(engine: Engine) -> list[Outcome]:
    with Session(engine) as session:
        return list(session.exec(select(Outcome).order_by(col(Outcome.id))).all())


def test_record_prints_the_outcome_and_writes_it_with_the_operator_as_recorder(
    app_engine: Engine,
) -> None:
    population = _population(app_engine)
    result = _run(
        "record",
        "S-0",
        "--wave",
        str(population.wave_id),
        "--activity",
        "employed_full_time",
        "--source",
        "employer",
        "--observed-on",
        "2025-01-20",
        "--hours",
        "40",
        "--salary",
        "3000",
        "--currency",
        "EUR",
        "--period",
        "monthly",
        "--note",
        "HR e-mail",
        "--json",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    printed = json.loads(result.output)  # type: ignore[attr-defined]
    assert printed["learner_ref"] == population.refs["ana"]
    assert (printed["source"], printed["salary_annual"], printed["replaced"]) == (
        "employer",
        36000.0,
        None,
    )
    [row] = _outcomes(app_engine)
    assert row.recorded_by is not None and row.recorded_by.startswith("cli:")
    with Session(app_engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "outcome.recorded"))
    assert event.detail is not None and event.detail["via"] == "cli"
    again = _run(
        "record",
        "ana@example.org",
        "--wave",
        population.wave,
        "--activity",
        "military",
        "--source",
        "phone",
        "--replace",
    )
    assert again.exit_code == 0, again.output  # type: ignore[attr-defined]
    assert "replaced the outcome from employer" in again.output  # type: ignore[attr-defined]


def test_record_as_a_scoped_manager_is_refused_out_of_scope_in_one_sentence(
    app_engine: Engine,
) -> None:
    population = _population(app_engine)
    result = _run(
        "record",
        "luis@example.org",
        "--wave",
        str(population.wave_id),
        "--activity",
        "military",
        "--source",
        "phone",
        "--by",
        "manager@example.org",
    )
    assert isinstance(result.exception, NotFound)  # type: ignore[attr-defined]
    assert str(result.exception) == (  # type: ignore[attr-defined]
        "No graduate has that learner ref, external id or e-mail address."
    )
    bad = _run(
        "record", "ana@example.org", "--wave", "1", "--activity", "military", "--source", "survey"
    )
    assert isinstance(bad.exception, OutcomesError)  # type: ignore[attr-defined]
    assert str(bad.exception).startswith("The source 'survey' is not one of")  # type: ignore[attr-defined]
    assert _outcomes(app_engine) == []


def test_import_reports_rejects_writes_nothing_then_writes_all(
    app_engine: Engine, tmp_path: Path
) -> None:
    population = _population(app_engine)
    wave = population.wave_id
    path = tmp_path / "outcomes.csv"
    path.write_bytes(
        (
            "email,wave,source,activity,note\n"
            f"ana@example.org,{wave},employer,military,=1+2\n"
            f"bea@example.org,{wave},employer,astronaut,\n"
            f"luis@example.org,{wave},phone,voluntary,\n"
        ).encode("utf-8-sig")
    )
    result = _run("import", str(path))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.output.splitlines()[0].startswith("row 3, activity: The activity 'astronaut'")  # type: ignore[attr-defined]
    assert result.output.splitlines()[-1] == (  # type: ignore[attr-defined]
        "1 of 3 rows rejected (1 problems): nothing was written."
    )
    assert _outcomes(app_engine) == []
    path.write_bytes(path.read_bytes().replace(b"astronaut", b"voluntary"))
    dry = _run("import", str(path), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output  # type: ignore[attr-defined]
    assert json.loads(dry.output)["written"] == 0 and _outcomes(app_engine) == []  # type: ignore[attr-defined]
    done = _run("import", str(path))
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert done.output == "3 outcomes recorded.\n"  # type: ignore[attr-defined]
    assert [r.note for r in _outcomes(app_engine)] == ["=1+2", None, None]

    listed = _run("list", "--json")
    rows = json.loads(listed.output)  # type: ignore[attr-defined]
    assert sorted(r["learner_ref"] for r in rows) == sorted(population.refs.values())
    assert "example.org" not in listed.output and "recorded_by" not in rows[0]  # type: ignore[attr-defined]
    assert {r["source"] for r in rows} == {"employer", "phone"}
    scoped = _run("list", "--json", "--by", "manager@example.org", "--wave", population.wave)
    assert len(json.loads(scoped.output)) == 2  # type: ignore[attr-defined]
    newest = _run("list", "--limit", "1")
    assert newest.exit_code == 0 and len(newest.output.splitlines()) == 2  # type: ignore[attr-defined]
    assert "employer" in newest.output or "phone" in newest.output  # type: ignore[attr-defined]


def test_the_template_prints_the_header_and_one_example_row() -> None:
    result = _run("template")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    header, example = result.output.splitlines()  # type: ignore[attr-defined]
    assert header == ",".join(CSV_COLUMNS) and ",employer," in example
