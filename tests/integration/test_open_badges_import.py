"""Open Badges 3.0 credentials into the database: the corpus, one learner, conflicts, JWT, zips."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outcomes.records.badge_import import import_badges, rejects_path
from tests.badge_corpus import as_jwt, corpus_credential, corpus_files, credentials_dir

TODAY = dt.date(2026, 12, 4)
CORPUS = corpus_files()


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), "utf-8")
    return path


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_every_corpus_file_imports_on_its_own_into_an_empty_database(
    engine: Engine, path: Path
) -> None:
    result = import_badges(engine, [path], actor="test", today=TODAY)
    assert result.report.written, result.lines()
    assert result.report.summary.added == 1
    counts = [_count(engine, table) for table in ("credential", "learner", "programme")]
    assert counts == [1, 1, 1]
    credential = json.loads(path.read_text("utf-8"))
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT c.external_id, c.source, p.achievement_id, p.title FROM credential c "
                "JOIN programme p ON p.id = c.programme_id"
            )
        ).one()
    achievement = credential["credentialSubject"]["achievement"]
    assert tuple(stored) == (
        credential["id"],
        "open_badges",
        achievement["id"],
        achievement["name"].strip(),
    )
    again = import_badges(engine, [path], actor="test", today=TODAY)
    assert (again.report.summary.added, again.report.summary.unchanged) == (0, 1)
    # A programme holding stand-ins for elements the badge did not state is a draft.
    with engine.connect() as connection:
        status, *elements = connection.execute(
            sa.text(
                "SELECT status, field_of_study, quality_assurance, learning_outcomes, "
                "awarding_body, title, issuer_country, ects FROM programme"
            )
        ).one()
    stood_in = "not stated in the credential" in elements or "ZZ" in elements or 0 in elements
    assert status == ("draft" if stood_in else "active")


def test_a_learner_in_several_files_becomes_one_learner(engine: Engine, tmp_path: Path) -> None:
    # The two microcredentials of stu-7Z6X5W share a placeholder credential id in the corpus;
    # given their own ids, they are two awards of one learner.
    for index, name in enumerate(
        ["uvh_at_microcredential_full_1.json", "uvh_at_microcredential_full_2.json"]
    ):
        _write(tmp_path / name, corpus_credential(name) | {"id": f"urn:uuid:award-{index}"})
    result = import_badges(engine, [tmp_path], actor="test", today=TODAY)
    assert result.report.written and result.report.summary.added == 2, result.lines()
    assert (_count(engine, "learner"), _count(engine, "credential")) == (1, 2)
    assert _count(engine, "programme") == 2
    # and a later file naming the same subject joins the same learner
    later = corpus_credential("uvh_at_regular_full.json") | {"id": "urn:uuid:award-3"}
    later["credentialSubject"]["id"] = "https://example.com/students/stu-7Z6X5W"
    import_badges(engine, [_write(tmp_path / "later.json", later)], actor="test", today=TODAY)
    assert (_count(engine, "learner"), _count(engine, "credential")) == (1, 3)


def test_the_corpus_together_is_refused_with_every_reused_id_reported(engine: Engine) -> None:
    result = import_badges(engine, [credentials_dir()], actor="test", today=TODAY)
    assert not result.report.written
    assert _count(engine, "credential") == 0
    lines = result.lines()
    for reused in ("crd-A1B2C3", "crd-MBN3PQ", "crd-D4E5F6"):
        start = f"Credential id 'http://example.com/credentials/{reused}'"
        [line] = [x for x in lines if x.startswith(start)]
        assert "credentials/" in line and "with different" in line
    reused_achievement = "Achievement id 'https://example.com/achievements/ach-44ABA'"
    assert any(x.startswith(reused_achievement) for x in lines)
    summary = result.report.summary
    assert (summary.added, summary.rejected) == (2, 30)
    assert summary.conflicts >= 3
    assert "Signatures are not verified" in "\n".join(lines)


def test_skip_invalid_imports_the_rest_and_writes_the_rejects_beside_the_input(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for path in CORPUS:
        (folder / path.name).write_bytes(path.read_bytes())
    result = import_badges(engine, [folder], actor="test", today=TODAY, skip_invalid=True)
    assert result.report.written
    # the two reference examples name the same subject: one learner, two credentials
    assert (_count(engine, "credential"), _count(engine, "learner")) == (2, 1)
    rejects = json.loads(rejects_path(folder).read_text("utf-8"))
    assert len(rejects) == 30
    assert rejects[0]["problems"][0]["field"] == "$.id"


def test_skip_invalid_beside_a_read_only_input_is_refused_before_writing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.errors import ValidationProblem
    from outcomes.records import badge_import

    source = _write(tmp_path / "a.json", corpus_credential("ref_full_ex.json"))
    # (the tests may run as root, whom no mode bit stops: the check itself is replaced)
    monkeypatch.setattr(badge_import.os, "access", lambda path, mode: False)
    with pytest.raises(ValidationProblem, match="not writable"):
        import_badges(engine, [source], actor="test", today=TODAY, skip_invalid=True)
    assert _count(engine, "credential") == 0


def test_a_schema_invalid_credential_is_rejected_with_its_path_and_nothing_written(
    engine: Engine, tmp_path: Path
) -> None:
    good = _write(tmp_path / "good.json", corpus_credential("ref_full_ex.json"))
    credential = corpus_credential("theed_regular_full_ho.json")
    del credential["credentialSubject"]["achievement"]["criteria"]
    bad = _write(tmp_path / "bad.json", credential)
    result = import_badges(engine, [good, bad], actor="test", today=TODAY)
    assert not result.report.written and _count(engine, "credential") == 0
    assert result.lines()[0] == (
        "bad.json: $.credentialSubject.achievement.criteria: does not meet the Open Badges 3.0 "
        "schema: is required but missing."
    )


def test_a_jwt_encoded_credential_imports_and_says_its_signature_was_not_verified(
    engine: Engine, tmp_path: Path
) -> None:
    token = as_jwt(corpus_credential("uvh_fvhz_microcredential_full.json"))
    result = import_badges(
        engine, [_write(tmp_path / "badge.jwt", token)], actor="test", today=TODAY
    )
    assert result.report.written and _count(engine, "credential") == 1
    assert result.to_dict()["signatures_verified"] is False
    assert result.to_dict()["decoded_from_jwt"] == 1


def test_a_zip_of_credentials_imports(engine: Engine, tmp_path: Path) -> None:
    archive = tmp_path / "badges.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in ("ref_full_ex.json", "uvh_fvhz_regular_full.json"):
            zf.write(credentials_dir() / name, f"2024/{name}")
    result = import_badges(engine, [archive], actor="test", today=TODAY)
    assert result.report.written and result.report.summary.added == 2


def test_the_same_credential_in_a_folder_and_a_zip_is_imported_once(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    source = credentials_dir() / "uvh_fvhz_regular_full.json"
    (folder / source.name).write_bytes(source.read_bytes())
    with zipfile.ZipFile(folder / "again.zip", "w") as zf:
        zf.write(source, source.name)
    result = import_badges(engine, [folder], actor="test", today=TODAY)
    assert result.report.written and result.report.summary.added == 1
    assert "1 credentials appeared again with the same content and were read once." in (
        result.lines()
    )
    assert _count(engine, "credential") == 1


def test_a_dry_run_writes_nothing(engine: Engine) -> None:
    source = credentials_dir() / "ref_full_ex.json"
    result = import_badges(engine, [source], actor="test", today=TODAY, dry_run=True)
    assert result.report.summary.added == 1 and not result.report.written
    assert _count(engine, "credential") == 0


def test_outcomes_import_credentials_reads_open_badges_and_reports_in_json(
    app_engine: Engine, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from outcomes.cli.main import app

    token = as_jwt(corpus_credential("uvh_at_regular_full.json"))
    _write(tmp_path / "diploma.jwt", token)
    result = CliRunner().invoke(
        app, ["import", "credentials", str(tmp_path / "diploma.jwt"), "--format", "ob3", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["written"] and payload["summary"]["added"] == 1
    assert payload["signatures_verified"] is False and payload["decoded_from_jwt"] == 1
    assert payload["programme_elements_not_stated"] == {"diploma.jwt": ["field_of_study"]}


def test_outcomes_import_credentials_refuses_the_corpus_together_naming_the_conflicts(
    app_engine: Engine,
) -> None:
    from typer.testing import CliRunner

    from outcomes.cli.main import app

    result = CliRunner().invoke(app, ["import", "credentials", str(credentials_dir())])
    assert result.exit_code == 1
    assert "Credential id 'http://example.com/credentials/crd-MBN3PQ' is used by" in result.output
    assert "Signatures are not verified" in result.output
    assert "Nothing imported" in result.output
    assert _count(app_engine, "credential") == 0


def test_a_zip_slip_archive_is_one_plain_sentence_on_the_command_line(
    app_engine: Engine, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from outcomes.cli.main import app
    from outcomes.errors import ValidationProblem

    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside.json", "{}")
    result = CliRunner().invoke(app, ["import", "credentials", str(archive)])
    assert isinstance(result.exception, ValidationProblem)
    assert "leaves the archive" in str(result.exception)


def test_a_reused_credential_id_in_a_later_import_is_refused_not_overwritten(
    engine: Engine,
) -> None:
    first = credentials_dir() / "uvh_at_microcredential_full_1.json"
    second = credentials_dir() / "uvh_at_microcredential_full_2.json"
    assert import_badges(engine, [first], actor="test", today=TODAY).report.written
    result = import_badges(engine, [second], actor="test", today=TODAY)
    assert not result.report.written
    assert "another programme" in result.lines()[0]
    with engine.connect() as connection:
        title = connection.execute(
            sa.text("SELECT p.title FROM credential c JOIN programme p ON p.id = c.programme_id")
        ).scalar_one()
    assert title == "Microcredential Basisomzetting Kat naar Koffiezetapparaat"
