"""The codebook (data dictionary): every question, both languages, codes, canonical field."""

from __future__ import annotations

import csv
from pathlib import Path

from instrument_files import instrument_yaml

from outcomes.exports import spreadsheet_safe
from outcomes.instruments import parse_instrument, write_codebook
from outcomes.instruments.registry import load_shipped


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_codebook_has_one_row_per_question_with_both_languages(tmp_path: Path) -> None:
    instrument = load_shipped("follow-up-6m")
    csv_path, md_path = write_codebook(instrument, tmp_path)
    rows = read_rows(csv_path)
    assert [r["variable"] for r in rows] == [q.id for q in instrument.questions()]
    activity = rows[0]
    assert activity["question_es"] == "¿Cuál es su actividad principal en este momento?"
    assert activity["canonical"] == "activity"
    assert "not_seeking = Not working or looking for work" in activity["codes"]
    by_id = {r["variable"]: r for r in rows}
    assert by_id["satisfaction"]["codes"].startswith("1 = Very dissatisfied / Muy insatisfecho/a")
    assert (
        "2 = Professionals / Profesionales científicos e intelectuales"
        in by_id["occupation"]["codes"]
    )
    assert by_id["industry"]["codes"].count(" = ") == 21
    assert by_id["hours"]["validation"] == "min 1; max 100"
    assert by_id["months_to_job"]["show_if"] == "had_job_before == false"
    markdown = md_path.read_text(encoding="utf-8")
    assert instrument.content_hash in markdown
    assert markdown.count("\n| ") == len(rows) + 1


def test_cells_that_a_spreadsheet_would_run_are_prefixed(tmp_path: Path) -> None:
    questions = """\
    - id: formula
      type: short_text
      text: {en: "=HYPERLINK(\\"http://x\\")", es: "+cmd|' /C calc'!A0"}
    - id: harmless
      type: short_text
      text: {en: "Plain question", es: "-1 es un número"}
    """
    instrument, problems = parse_instrument(instrument_yaml(questions))
    assert problems == [] and instrument is not None
    csv_path, md_path = write_codebook(instrument, tmp_path / "out")
    rows = read_rows(csv_path)
    assert rows[0]["question_en"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["question_es"] == "'+cmd|' /C calc'!A0"
    assert rows[1]["question_en"] == "Plain question"
    assert rows[1]["question_es"] == "'-1 es un número"
    # Pipes would break the Markdown table: they are escaped there.
    assert "+cmd\\|' /C calc'!A0" in md_path.read_text(encoding="utf-8")


def test_spreadsheet_safe_covers_every_dangerous_first_character() -> None:
    for first in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(first + "x") == "'" + first + "x"
    assert spreadsheet_safe("x=1") == "x=1"
    assert spreadsheet_safe("") == ""
