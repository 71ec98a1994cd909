"""``outcomes import``, ``outcomes learners list`` and ``outcomes credentials list``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from outcomes.store.engine import session_scope
from outcomes.store.freshness import triggers_in_place
from tests import factories
from tests.conftest import REPO_ROOT
from tests.integration.test_cli import cli_env
from tests.integration.test_csv_import import HEADER, SEED_CODES, award_rows, counts

SAMPLE = REPO_ROOT / "seed" / "sample-credentials.csv"


def _programmes(engine: Engine, *codes: str) -> None:
    with session_scope(engine) as session:
        for code in codes:
            factories.programme(session, code)


def _invoke(*args: str) -> object:
    from outcomes.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_a_file_with_bad_rows_is_refused_with_one_sentence_per_problem(
    app_engine: Engine, tmp_path: Path
) -> None:
    _programmes(app_engine, *SEED_CODES)
    copy = tmp_path / "sample.csv"
    copy.write_bytes(SAMPLE.read_bytes())
    before = counts(app_engine)
    result = _invoke("import", "credentials", str(copy))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    out = result.stdout  # type: ignore[attr-defined]
    assert "sample.csv, line 12: programme_code 'MC-ROBOTICS'" in out
    assert "sample.csv, line 20: completion_date '31/02/2023'" in out
    assert "Nothing imported" in out.splitlines()[-1]
    assert counts(app_engine)["credential"] == before["credential"]
    assert not (tmp_path / "sample.rejects.csv").exists()


def test_skip_invalid_imports_the_rest_and_a_rerun_reports_everything_unchanged(
    app_engine: Engine, tmp_path: Path
) -> None:
    _programmes(app_engine, *SEED_CODES)
    copy = tmp_path / "sample.csv"
    copy.write_bytes(SAMPLE.read_bytes())
    first = _invoke("import", "credentials", str(copy), "--skip-invalid", "--json")
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    payload = json.loads(first.stdout)  # type: ignore[attr-defined]
    assert payload["written"] is True
    assert payload["summary"] == {
        "added": 37,
        "updated": 0,
        "unchanged": 0,
        "rejected": 3,
        "conflicts": 1,
    }
    assert payload["rejects_files"] == [str(tmp_path / "sample.rejects.csv")]
    assert payload["read_as"][0]["encoding"] == "utf-8"
    again = _invoke("import", "credentials", str(copy), "--skip-invalid")
    assert again.stdout.splitlines()[-1] == (  # type: ignore[attr-defined]
        "Nothing changed: 0 added, 0 updated, 37 unchanged, 3 rejected, 1 conflicts."
    )


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(
    app_engine: Engine, tmp_path: Path
) -> None:
    _programmes(app_engine, "DA-101")
    path = tmp_path / "a.csv"
    path.write_text("\n".join([HEADER, *award_rows(4)]), encoding="utf-8")
    before = counts(app_engine)
    result = _invoke("import", "credentials", str(path), "--dry-run")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stdout.splitlines()[-1].startswith(  # type: ignore[attr-defined]
        "Dry run, nothing written: 4 added"
    )
    assert counts(app_engine) == before


def test_a_mapping_given_on_the_command_line_or_in_a_file_is_used(
    app_engine: Engine, tmp_path: Path
) -> None:
    _programmes(app_engine, "DA-101")
    path = tmp_path / "odd.csv"
    path.write_text("Matric;Course;Fecha;Ref\nS1;DA-101;03/04/2025;R1\n", encoding="utf-8")
    refused = _invoke("import", "credentials", str(path))
    # In process the domain error reaches the caller; ``main`` prints it as one line.
    assert "has no column for credential_id" in str(refused.exception)  # type: ignore[attr-defined]
    mapping = "Matric=external_learner_id,Course=programme_code,Fecha=issued_on,Ref=credential_id"
    ambiguous = _invoke("import", "credentials", str(path), "--map", mapping)
    assert "is ambiguous" in ambiguous.stdout  # type: ignore[attr-defined]
    mapping_file = tmp_path / "map.json"
    mapping_file.write_text(
        json.dumps(
            {
                "Matric": "learner_external_id",
                "Course": "programme_code",
                "Fecha": "issued_on",
                "Ref": "credential_id",
            }
        ),
        encoding="utf-8",
    )
    done = _invoke("import", "credentials", str(path), "--map", str(mapping_file), "--dates", "dmy")
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    assert "1 added" in done.stdout  # type: ignore[attr-defined]


def test_the_template_lists_every_column_and_imports_as_is(
    app_engine: Engine, tmp_path: Path
) -> None:
    from outcomes.records.csv_import import COLUMN_NAMES

    template = _invoke("import", "template")
    lines = template.stdout.splitlines()  # type: ignore[attr-defined]
    assert lines[0].split(",") == list(COLUMN_NAMES)
    described = _invoke("import", "template", "--describe")
    assert "credential_id — required: yes." in described.stdout  # type: ignore[attr-defined]
    _programmes(app_engine, "MC-DATA")
    with session_scope(app_engine) as session:
        session.execute(
            sa.text("UPDATE programme SET achievement_id = 'https://example.edu/achievements/data'")
        )
    path = tmp_path / "template.csv"
    path.write_text(template.stdout, encoding="utf-8")  # type: ignore[attr-defined]
    done = _invoke("import", "credentials", str(path))
    assert done.exit_code == 0, done.output  # type: ignore[attr-defined]


def test_learners_are_listed_without_contact_data_unless_asked_and_then_audited(
    app_engine: Engine, tmp_path: Path
) -> None:
    _programmes(app_engine, "DA-101")
    path = tmp_path / "a.csv"
    path.write_text("\n".join([HEADER, *award_rows(2)]), encoding="utf-8")
    _invoke("import", "credentials", str(path))
    plain = _invoke("learners", "list", "--json")
    rows = json.loads(plain.stdout)  # type: ignore[attr-defined]
    assert len(rows) == 2 and rows[0]["external_ids"] == ["student_id:S0000000"]
    assert "learner0@example.org" not in plain.stdout  # type: ignore[attr-defined]
    contact = _invoke("learners", "list", "--with-contact", "--json")
    assert json.loads(contact.stdout)[0]["email"] == "learner0@example.org"  # type: ignore[attr-defined]
    with app_engine.connect() as connection:
        actions = connection.execute(sa.text("SELECT action FROM audit_event")).scalars().all()
    assert "learners.list_contact" in actions and "records.import" in actions
    credentials = json.loads(_invoke("credentials", "list", "--json").stdout)  # type: ignore[attr-defined]
    assert {c["credential_id"] for c in credentials} == {"urn:uuid:c-0000000", "urn:uuid:c-0000001"}


@pytest.mark.slow
def test_an_import_killed_halfway_leaves_the_database_as_it_was_and_a_rerun_completes(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    _programmes(engine, "DA-101")
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n")
        for start in range(0, 150_000, 10_000):
            handle.write("\n".join(award_rows(10_000, start=start)) + "\n")
    before = counts(engine)
    env = cli_env(database_url)
    command = [sys.executable, "-m", "outcomes", "import", "credentials", str(path), "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_writing(engine, database_url, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert counts(engine) == before
    assert triggers_in_place(engine)
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["summary"]["added"] == 150_000


def _wait_until_writing(engine: Engine, database_url: str, process: subprocess.Popen) -> None:
    """Return once the import has written rows inside its (uncommitted) transaction."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the import ended before it could be killed"
        if database_url.startswith("sqlite"):
            wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
            if wal.exists() and wal.stat().st_size > 4_000_000:
                return
        else:
            with engine.connect() as connection:
                copying = connection.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'COPY credential%'"
                    )
                ).scalar_one()
            if copying:
                return
        time.sleep(0.05)
    raise AssertionError("the import never started writing")
