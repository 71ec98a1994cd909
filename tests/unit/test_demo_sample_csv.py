"""seed/sample-credentials.csv holds exactly the bad rows seed/README.md documents."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from outcomes.demo.spec import load_institution

SEED = Path(__file__).resolve().parents[2] / "seed"


def _rows() -> list[tuple[int, dict[str, str]]]:
    with (SEED / "sample-credentials.csv").open(encoding="utf-8", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_sample_csv_bad_rows_are_the_documented_ones() -> None:
    rows = _rows()
    codes = {p.code for p in load_institution().programmes}
    unknown = [line for line, row in rows if row["programme_code"] not in codes]
    bad_dates = [
        line
        for line, row in rows
        if not (_is_iso_date(row["enrolment_start"]) and _is_iso_date(row["completion_date"]))
    ]
    seen: dict[str, int] = {}
    duplicates = []
    for line, row in rows:
        if row["credential_id"] in seen:
            duplicates.append((line, seen[row["credential_id"]]))
        seen.setdefault(row["credential_id"], line)
    missing_email = [line for line, row in rows if not row["email"].strip()]
    assert (unknown, bad_dates, duplicates, missing_email) == ([12], [20], [(27, 5)], [33])
    readme = (SEED / "README.md").read_text(encoding="utf-8")
    for line in (12, 20, 27, 33):
        assert f"| {line} |" in readme
    assert len(rows) == 40
