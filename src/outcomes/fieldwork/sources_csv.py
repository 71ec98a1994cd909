"""A CSV file of outcomes learned from other sources, imported all or nothing.

Columns (header row first, names in any order and case; ``docs/fieldwork.md``):
``learner_ref``, ``external_id``, ``email`` (exactly one of them filled in each row), ``wave``
(its id or exact name), ``source``, ``observed_on`` (YYYY-MM-DD; empty: the day of the
import), ``activity``, ``hours``, ``salary``, ``currency``, ``period``, ``occupation``,
``industry``, ``job_related``, ``note``. Only ``wave``, ``source``, ``activity`` and one
identifier column are required in the header; the others may be left out.

UTF-8 with or without a byte-order mark; commas, or semicolons (as spreadsheets save them in
locales whose decimal mark is a comma) when the header has no comma. Every row is checked,
against the records too, before any is written; one rejected row and nothing is written. The
report names each reject by its row as a spreadsheet numbers it (the header is row 1), its
column and one sentence. Cells are stored as the text they are: a note starting with ``=``
stays that text, and every CSV the product writes prefixes it (``exports.spreadsheet_safe``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.exports import safe_csv_writer, spreadsheet_safe
from outcomes.fieldwork.sources import (
    OtherOutcome,
    OutcomeRefused,
    Planned,
    Problem,
    RecordedOutcome,
    Recorder,
    parse_outcome,
    plan_outcomes,
    recorder_scope,
    write_planned,
)

IDENTIFIER_COLUMNS = ("learner_ref", "external_id", "email")
CSV_COLUMNS = (
    *IDENTIFIER_COLUMNS,
    "wave",
    "source",
    "observed_on",
    "activity",
    "hours",
    "salary",
    "currency",
    "period",
    "occupation",
    "industry",
    "job_related",
    "note",
)
REQUIRED_COLUMNS = ("wave", "source", "activity")
# The column of each field of ``OtherOutcome`` (the learner's is the row's identifier).
FIELD_COLUMNS = {
    "wave": "wave",
    "source": "source",
    "observed_on": "observed_on",
    "activity": "activity",
    "hours_per_week": "hours",
    "salary": "salary",
    "currency": "currency",
    "period": "period",
    "occupation_isco": "occupation",
    "industry_isic": "industry",
    "job_related": "job_related",
    "note": "note",
}
IDENTIFIER_KINDS = {"learner_ref": "ref", "external_id": "external_id", "email": "email"}
MAX_ROWS = 50_000
_EXTRA = "\0extra"  # marks a row with more cells than the header has columns
TEMPLATE_ROW = {
    "learner_ref": "",
    "external_id": "",
    "email": "ana.ruiz@example.org",
    "wave": "2024 cohort — 6 months",
    "source": "employer",
    "observed_on": "2025-02-14",
    "activity": "employed_full_time",
    "hours": "38",
    "salary": "2600",
    "currency": "EUR",
    "period": "monthly",
    "occupation": "2",
    "industry": "J",
    "job_related": "4",
    "note": "HR confirmed by e-mail",
}


def template_csv() -> str:
    """The header and one example row, for staff to fill in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow([TEMPLATE_ROW[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


@dataclass(frozen=True)
class Reject:
    """One problem with one row: its number as a spreadsheet shows it, the column, why."""

    row: int
    column: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ImportReport:
    """What an import checked and wrote: nothing at all when any row was rejected."""

    rows: int
    rejects: tuple[Reject, ...]
    dry_run: bool
    written: tuple[RecordedOutcome, ...] = ()
    checked: tuple[str, ...] = field(default=())  # learner refs of the rows that passed

    @property
    def accepted(self) -> bool:
        """True when every row passed (and, unless a dry run, was written)."""
        return not self.rejects

    def summary(self) -> str:
        """One sentence on the outcome of the import."""
        if self.rejects:
            rows = len({r.row for r in self.rejects})
            return (
                f"{rows} of {self.rows} rows rejected ({len(self.rejects)} problems): nothing "
                "was written."
            )
        if self.dry_run:
            return f"All {self.rows} rows are valid; nothing was written (dry run)."
        replaced = sum(1 for w in self.written if w.replaced)
        extra = f", {replaced} of them replacing an earlier one" if replaced else ""
        return f"{len(self.written)} outcomes recorded{extra}."

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "rows": self.rows,
            "dry_run": self.dry_run,
            "accepted": self.accepted,
            "written": len(self.written),
            "rejects": [r.to_dict() for r in self.rejects],
            "outcomes": [w.to_dict() for w in self.written],
        }

    def rejects_csv(self) -> bytes:
        """The rejects as a spreadsheet-safe CSV (row, column, message)."""
        buffer = io.StringIO()
        writer = safe_csv_writer(buffer)
        writer.writerow(["row", "column", "message"])
        for reject in self.rejects:
            writer.writerow([reject.row, reject.column, spreadsheet_safe(reject.message)])
        return buffer.getvalue().encode("utf-8")


def _text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationProblem(
                f"The file is not UTF-8 text (byte {exc.start + 1} is not): save it as "
                "CSV UTF-8 and try again."
            ) from None
    return data.removeprefix("\ufeff")


def read_rows(data: bytes | str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (normalised) and the data rows with their spreadsheet row numbers.

    A problem with the file as a whole (not UTF-8, no header, unknown or missing columns,
    too many rows) is one ``ValidationProblem`` sentence.
    """
    text = _text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationProblem("The file is empty: it needs a header row.") from None
    except csv.Error as exc:
        raise ValidationProblem(f"The header row cannot be read as CSV: {exc}.") from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in CSV_COLUMNS]
    if unknown:
        raise ValidationProblem(
            f"Unknown column {', '.join(repr(n) for n in unknown)}: the columns are "
            f"{', '.join(CSV_COLUMNS)}."
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationProblem(f"The column {', '.join(repeated)} appears more than once.")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ValidationProblem(f"The file has no {', '.join(missing)} column.")
    if not any(c in names for c in IDENTIFIER_COLUMNS):
        raise ValidationProblem(
            "The file needs a learner_ref, external_id or email column to find each graduate."
        )
    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue  # a blank line, as spreadsheets leave at the end
            if len(rows) >= MAX_ROWS:
                raise ValidationProblem(
                    f"The file has more than {MAX_ROWS:,} rows: split it into smaller files."
                )
            row = dict(zip(names, cells, strict=False))
            if len(cells) > len(names):
                row[_EXTRA] = str(len(cells))
            rows.append((number, row))
    except csv.Error as exc:
        raise ValidationProblem(f"Row {number} cannot be read as CSV: {exc}.") from None
    if not rows:
        raise ValidationProblem("The file has a header but no rows.")
    return names, rows


def _number(text: str, column: str, whole: bool = False) -> tuple[Any, Reject | None]:
    cleaned = text.strip().replace(" ", "")
    try:
        value: float | int = int(cleaned) if whole else float(cleaned)
    except ValueError:
        kind = "a whole number" if whole else "a number (with a point for decimals)"
        return None, Reject(0, column, f"{column} '{text.strip()}' is not {kind}.")
    if not whole and value != value:  # NaN
        return None, Reject(0, column, f"{column} '{text.strip()}' is not a number.")
    return value, None


def parse_row(number: int, row: dict[str, str]) -> OtherOutcome | list[Reject]:
    """One CSV row as an ``OtherOutcome``, or its rejects (pure)."""
    rejects: list[Reject] = []
    if _EXTRA in row:
        return [
            Reject(
                number,
                "",
                f"The row has {row[_EXTRA]} cells but the header only "
                f"{len([k for k in row if k != _EXTRA])} columns (a separator inside a cell "
                "needs quotes).",
            )
        ]
    given = [c for c in IDENTIFIER_COLUMNS if (row.get(c) or "").strip()]
    values: dict[str, Any] = {}
    if not given:
        rejects.append(
            Reject(number, "learner_ref", "Give the graduate's learner_ref, external_id or email.")
        )
    elif len(given) > 1:
        rejects.append(
            Reject(
                number,
                given[1],
                f"Give only one of learner_ref, external_id and email (this row has "
                f"{', '.join(given)}).",
            )
        )
    else:
        values["learner"] = row[given[0]].strip()
        values["learner_by"] = IDENTIFIER_KINDS[given[0]]
    for name, column in FIELD_COLUMNS.items():
        text = row.get(column) or ""
        if not text.strip():
            if name in REQUIRED_COLUMNS:
                rejects.append(Reject(number, column, f"The {column} is required."))
                values[name] = "-" if name == "wave" else None
            continue
        if name == "observed_on":
            try:
                values[name] = dt.date.fromisoformat(text.strip())
            except ValueError:
                rejects.append(
                    Reject(
                        number, column, f"observed_on '{text.strip()}' is not a date (YYYY-MM-DD)."
                    )
                )
        elif name in ("hours_per_week", "salary", "job_related"):
            value, bad = _number(text, column, whole=name == "job_related")
            if bad is not None:
                rejects.append(Reject(number, bad.column, bad.message))
            else:
                values[name] = float(value) if name != "job_related" else value
        elif name == "note":
            values[name] = text  # stored as it is, formula-looking text too
        else:
            values[name] = text.strip()
    if "learner" not in values:
        values["learner"] = "-"  # checked above; lets the other fields be checked too
    try:
        outcome = parse_outcome(values)
    except OutcomeRefused as refused:
        # A required cell left empty already has its sentence.
        empty = {r.column for r in rejects}
        problems = [p for p in refused.problems if FIELD_COLUMNS.get(p.field) not in empty]
        rejects.extend(_rejects(number, problems, row))
        return rejects
    return rejects if rejects else outcome


def _column(problem: Problem, row: dict[str, str]) -> str:
    if problem.field in ("learner", "learner_by", ""):
        return next((c for c in IDENTIFIER_COLUMNS if (row.get(c) or "").strip()), "learner_ref")
    return FIELD_COLUMNS.get(problem.field, "")


def _rejects(
    number: int, problems: tuple[Problem, ...] | list[Problem], row: dict[str, str]
) -> list[Reject]:
    return [Reject(number, _column(p, row), p.message) for p in problems]


def import_other_outcomes(
    session: Session,
    settings: Settings,
    data: bytes | str,
    *,
    recorder: Recorder,
    at: dt.datetime,
    dry_run: bool = False,
    replace: bool = False,
) -> ImportReport:
    """Check every row of a CSV of other-source outcomes, then write all of them, or none.

    The writes happen in the caller's unit of work, after every row has passed; a reject (or
    ``dry_run``) writes nothing and audits nothing. Each outcome written is audited as
    ``record_other_outcome`` audits one, and the import once (rows, the file's SHA-256).
    """
    scope = recorder_scope(session, recorder)
    _, rows = read_rows(data)
    parsed = [(number, row, parse_row(number, row)) for number, row in rows]
    valid = [outcome for _, _, outcome in parsed if isinstance(outcome, OtherOutcome)]
    plans = iter(
        plan_outcomes(
            session,
            settings,
            valid,
            scope=scope,
            today=at.date(),
            replace=replace,
            lock=not dry_run,
        )
    )
    rejects: list[Reject] = []
    ready: list[Planned] = []
    seen: dict[tuple[int, int], int] = {}
    for number, row, outcome in parsed:
        if isinstance(outcome, list):
            rejects.extend(outcome)
            continue
        planned = next(plans)
        if isinstance(planned, list):
            rejects.extend(_rejects(number, planned, row))
            continue
        key = (planned.learner.id or 0, planned.wave.id or 0)
        if key in seen:
            rejects.append(
                Reject(
                    number,
                    _column(Problem("learner", ""), row),
                    f"This graduate and wave are already in row {seen[key]}.",
                )
            )
            continue
        seen[key] = number
        ready.append(planned)
    checked = tuple(p.learner.ref for p in ready)
    if rejects or dry_run:
        return ImportReport(len(rows), tuple(rejects), dry_run, checked=checked)
    written = tuple(write_planned(session, ready, recorder, at=at, via="import"))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    audit.record(
        session,
        actor=recorder.actor,
        action="sources.imported",
        object_type="outcome_import",
        object_id=hashlib.sha256(raw).hexdigest()[:16],
        detail={
            "rows": len(rows),
            "written": len(written),
            "replaced": sum(1 for w in written if w.replaced),
        },
    )
    return ImportReport(len(rows), (), False, written, checked)
