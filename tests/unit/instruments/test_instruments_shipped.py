"""The shipped instruments load, pass the checker, and are fit for a phone; the CLI works."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcomes.cli.instruments import app
from outcomes.instruments import check_files, load_instrument, shipped_instruments
from outcomes.instruments.mapping import CANONICAL_FIELDS
from outcomes.instruments.registry import load_shipped, survey_files, surveys_dir

SURVEYS = Path(__file__).parents[3] / "surveys"
SHIPPED = sorted(SURVEYS.glob("*.yaml"))


def test_the_three_instruments_are_shipped() -> None:
    assert [p.stem for p in SHIPPED] == ["exit", "follow-up-36m", "follow-up-6m"]
    assert surveys_dir().resolve() == SURVEYS.resolve()
    assert sorted(shipped_instruments()) == ["exit", "follow-up-36m", "follow-up-6m"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_file_loads_and_passes_the_checker(path: Path) -> None:
    assert check_files([path]) == []
    instrument = load_instrument(path)
    assert instrument.id == path.stem
    assert 10 <= len(list(instrument.questions())) <= 18


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_canonical_field_used_is_known(path: Path) -> None:
    used = {q.canonical for q in load_instrument(path).questions() if q.canonical}
    assert used <= set(CANONICAL_FIELDS)


def test_the_follow_ups_map_the_first_destination_core() -> None:
    core = {
        "activity",
        "hours_per_week",
        "salary",
        "employer",
        "job_title",
        "occupation_isco",
        "industry_isic",
        "job_related",
        "voice_meaningful",
        "voice_future",
        "voice_skills",
        "satisfaction",
        "nps",
    }
    six = {q.canonical for q in load_shipped("follow-up-6m").questions()}
    thirty_six = {q.canonical for q in load_shipped("follow-up-36m").questions()}
    assert core | {"months_to_first_job"} <= six
    assert core | {"promoted", "skills_used"} <= thirty_six


def test_the_surveys_dir_can_be_overridden(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "exit.yaml").write_text((SURVEYS / "exit.yaml").read_text(encoding="utf-8"))
    monkeypatch.setenv("OUTCOMES_SURVEYS_DIR", str(tmp_path))
    assert survey_files() == [tmp_path / "exit.yaml"]
    assert load_shipped("exit").id == "exit"


def test_an_unknown_shipped_key_names_the_known_ones() -> None:
    from outcomes.errors import NotFound

    with pytest.raises(NotFound, match="known: exit, follow-up-36m, follow-up-6m"):
        load_shipped("../pyproject")


runner = CliRunner()


def test_cli_check_passes_on_the_shipped_files() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "OK: 3 instruments"


def test_cli_check_fails_and_lists_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: [\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(SURVEYS / "exit.yaml"), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: -: YAML syntax error" in result.output


def test_cli_codebook_writes_both_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["codebook", "exit", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exit-codebook.csv").is_file()
    assert (tmp_path / "exit-codebook.md").is_file()


def test_cli_codebook_of_an_unknown_instrument_is_one_line_and_non_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, ["codebook", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: There is no shipped instrument 'nope'")
