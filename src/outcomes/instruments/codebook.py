"""The data dictionary of an instrument, as CSV (for analysts) and Markdown (for the pack)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from outcomes.exports import spreadsheet_safe
from outcomes.instruments.codes import PERIOD_LABELS, YES_NO_LABELS, coded_list
from outcomes.instruments.schema import Instrument, Question

COLUMNS = (
    "variable",
    "section",
    "type",
    "requirement",
    "question_en",
    "question_es",
    "codes",
    "canonical",
    "show_if",
    "validation",
)


@dataclass(frozen=True)
class CodebookRow:
    """One variable of the data dictionary."""

    variable: str
    section: str
    type: str
    requirement: str
    question_en: str
    question_es: str
    codes: str
    canonical: str
    show_if: str
    validation: str


def _codes(question: Question) -> str:
    pairs: list[tuple[str, str, str]] = []
    if question.choices:
        pairs = [(c.code, c.label.en, c.label.es) for c in question.choices]
    elif question.type == "likert":
        pairs = [(str(i), t.en, t.es) for i, t in enumerate(question.likert_labels(), start=1)]
    elif question.type == "scale_0_10" and question.anchors is not None:
        low, high = question.anchors.low, question.anchors.high
        pairs = [("0", low.en, low.es), ("10", high.en, high.es)]
    elif question.type == "yes_no":
        pairs = [("true", *YES_NO_LABELS[True]), ("false", *YES_NO_LABELS[False])]
    elif question.type == "money":
        periods = "; ".join(f"{k} = {en}" for k, (en, _) in PERIOD_LABELS.items())
        currencies = ", ".join(question.currencies or ()) or "any ISO 4217 code"
        return f"object {{amount, currency, period}}; currency: {currencies}; period: {periods}"
    elif question.type == "month_year":
        return "YYYY-MM"
    elif question.type == "country":
        return f"ISO 3166-1 alpha-2 ({len(coded_list('country') or {})} codes)"
    elif (listed := coded_list(question.type)) is not None:
        pairs = [(code, en, es) for code, (en, es) in listed.items()]
    return "; ".join(f"{code} = {en} / {es}" for code, en, es in pairs)


def _validation(question: Question) -> str:
    if question.validation is None:
        return ""
    given = question.validation.model_dump(exclude_none=True)
    return "; ".join(f"{key} {_number(value)}" for key, value in given.items())


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def codebook_rows(instrument: Instrument) -> list[CodebookRow]:
    """One row per question, in survey order."""
    rows = []
    for section in instrument.sections:
        for question in section.questions:
            rows.append(
                CodebookRow(
                    variable=question.id,
                    section=section.id,
                    type=question.type,
                    requirement=question.requirement,
                    question_en=question.text.en,
                    question_es=question.text.es,
                    codes=_codes(question),
                    canonical=question.canonical or "",
                    show_if=question.show_if or "",
                    validation=_validation(question),
                )
            )
    return rows


def _markdown_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def write_codebook(instrument: Instrument, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<id>-codebook.csv`` and ``<id>-codebook.md`` into ``out_dir``; return both paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows = codebook_rows(instrument)
    csv_path = folder / f"{instrument.id}-codebook.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([str(spreadsheet_safe(getattr(row, column))) for column in COLUMNS])
    md_path = folder / f"{instrument.id}-codebook.md"
    lines = [
        f"# Codebook: {_markdown_cell(instrument.title.en)}",
        "",
        f"- Instrument: `{instrument.id}`",
        f"- Version (content hash): `{instrument.content_hash}`",
        f"- Privacy notice version: `{instrument.privacy_notice.version}`",
        f"- Questions: {len(rows)}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [_markdown_cell(getattr(row, column)) for column in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path
