"""Importing Open Badges 3.0 credentials into the database through the import core.

``import_badges`` reads and checks everything first (``open_badges.read_badges``), then hands
the core (``records.importing.import_records``) the valid records and, as rejected records,
every credential with a problem or held back by a conflict. The core writes in one
transaction, or not at all: nothing is written while anything is rejected, unless
``skip_invalid`` (the valid part is imported and the rejects are written, with their reasons,
to a JSON file beside the first input).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.private_files import replace_private_file
from outcomes.records.importing import ImportReport, Progress, RecordList, Rejected, import_records
from outcomes.records.model import CredentialRecord, Origin, Problem
from outcomes.records.open_badges import SIGNATURES_NOT_VERIFIED, BadgeBatch, read_badges


@dataclass(frozen=True)
class BadgeImportReport:
    """The core's report of the import, with what only the badge reader knows."""

    report: ImportReport
    batch: BadgeBatch
    rejects_file: Path | None = None

    def lines(self) -> list[str]:
        """The report for a reader: problems, conflicts, programmes to complete, notes."""
        lines = [p.sentence() for p in self.report.problems]
        lines += [c.sentence() for c in self.report.conflicts]
        lines += [c.sentence() for c in self.batch.achievement_conflicts]
        by_missing: dict[str, list[str]] = defaultdict(list)
        for origin, missing in self.batch.missing_elements.items():
            by_missing[", ".join(missing)].append(origin)
        for missing_text, origins in by_missing.items():
            lines.append(
                f"{_where(origins)}: the achievement does not state {missing_text}; a programme "
                "created from it holds stand-ins until a manager completes it."
            )
        lines += [w.sentence() for w in self.report.warnings]
        by_remark: dict[str, list[str]] = defaultdict(list)
        for origin, text in self.batch.remarks:
            by_remark[text].append(origin)
        lines += [f"{_where(origins)}: {text}." for text, origins in by_remark.items()]
        if self.batch.duplicates:
            lines.append(
                f"{self.batch.duplicates:,} credentials appeared again with the same content "
                "and were read once."
            )
        if self.rejects_file is not None:
            lines.append(f"Rejected credentials and their reasons: {self.rejects_file}.")
        lines.append(SIGNATURES_NOT_VERIFIED)
        lines.append(self.report.sentence())
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``--json``)."""
        return self.report.to_dict() | {
            "credentials_read": self.batch.read,
            "identical_duplicates": self.batch.duplicates,
            "decoded_from_jwt": self.batch.from_jwt,
            "signatures_verified": False,
            "achievement_conflicts": [
                {
                    "id": c.id,
                    "origins": [o.model_dump() for o in c.origins],
                    "differences": list(c.differences),
                    "sentence": c.sentence(),
                }
                for c in self.batch.achievement_conflicts
            ],
            "programme_elements_not_stated": {
                origin: list(missing) for origin, missing in self.batch.missing_elements.items()
            },
            "notes": list(self.batch.notes),
            "rejects_file": None if self.rejects_file is None else str(self.rejects_file),
        }


def _where(origins: list[str]) -> str:
    # Thousands of credentials may share a remark: one line names a few and counts the rest.
    if len(origins) == 1:
        return origins[0]
    shown = ", ".join(origins[:3]) + (", …" if len(origins) > 3 else "")
    return f"{len(origins):,} credentials ({shown})"


def import_badges(
    engine: Engine,
    paths: list[Path],
    *,
    actor: str,
    today: dt.date,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    programme_scope: set[int] | None = None,
) -> BadgeImportReport:
    """Read, check and import the credentials in ``paths`` (files, folders, zips)."""
    batch = read_badges(paths, today=today)
    return import_batch(
        engine,
        batch,
        paths,
        actor=actor,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        progress=progress,
        programme_scope=programme_scope,
    )


def import_batch(
    engine: Engine,
    batch: BadgeBatch,
    paths: list[Path],
    *,
    actor: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    programme_scope: set[int] | None = None,
) -> BadgeImportReport:
    """Import what ``read_badges(paths)`` read: one transaction, or nothing when refused.

    ``programme_scope`` (a manager's programme ids) is the core's: a credential of another
    programme is rejected and no programme is created.
    """
    rejected = held_back(batch)
    items: list[CredentialRecord | Rejected] = [*batch.records, *rejected]
    name = ", ".join(p.name for p in paths)[:200]
    target = rejects_path(paths[0])
    if skip_invalid and not dry_run and not os.access(target.parent, os.W_OK):
        raise ValidationProblem(
            f"The rejects file cannot be written beside the input ({target.parent} is not "
            "writable): copy the files somewhere writable or leave out --skip-invalid."
        )
    # Every reject, the core's own (a credential id held for another programme) included.
    all_rejected: list[Rejected] = []
    report = import_records(
        engine,
        [RecordList(name=name, records=items)],
        actor=actor,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        progress=progress,
        on_reject=lambda _name, item: all_rejected.append(item),
        programme_scope=programme_scope,
    )
    own_conflicts = len(batch.conflicts) + len(batch.achievement_conflicts)
    report = dataclasses.replace(
        report,
        conflicts=(*batch.conflicts, *report.conflicts),
        summary=report.summary.model_copy(
            update={"conflicts": report.summary.conflicts + own_conflicts}
        ),
    )
    rejects_file = None
    if skip_invalid and not dry_run and all_rejected and report.written:
        rejects_file = _write_rejects(target, all_rejected)
    return BadgeImportReport(report=report, batch=batch, rejects_file=rejects_file)


def held_back(batch: BadgeBatch) -> list[Rejected]:
    """Every credential that is not imported, once, with all its problems (conflicts too)."""
    problems: dict[str, list[Problem]] = defaultdict(list)
    origins: dict[str, Origin] = {}

    def add(origin: Origin, problem: Problem) -> None:
        origins.setdefault(str(origin), origin)
        problems[str(origin)].append(problem)

    for problem in batch.problems:
        add(problem.origin, problem)
    for conflict in batch.conflicts:
        for origin in conflict.origins:
            others = len(conflict.origins) - 1
            reason = (
                f"reused by {others} other credential{'s' if others != 1 else ''} with different "
                f"{', '.join(d.split(' (')[0] for d in conflict.differences)}"
            )
            add(origin, Problem(origin=origin, field="$.id", value=conflict.id, reason=reason))
    for achievement in batch.achievement_conflicts:
        for origin in achievement.origins:
            reason = "used for achievements that differ in " + ", ".join(
                d.split(" (")[0] for d in achievement.differences
            )
            add(
                origin,
                Problem(
                    origin=origin,
                    field="$.credentialSubject.achievement.id",
                    value=achievement.id,
                    reason=reason,
                ),
            )
    return [Rejected(origins[key], tuple(found)) for key, found in problems.items()]


def rejects_path(first_input: Path) -> Path:
    """Where ``--skip-invalid`` writes the rejects: beside the (first) input."""
    return first_input.parent / f"{first_input.name}.rejected.json"


def _write_rejects(target: Path, rejected: list[Rejected]) -> Path:
    payload = [
        {
            "origin": str(r.origin),
            "problems": [
                {"field": p.field, "value": p.value, "reason": p.reason} for p in r.problems
            ],
        }
        for r in rejected
    ]
    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    replace_private_file(target, text.encode("utf-8"))
    return target
