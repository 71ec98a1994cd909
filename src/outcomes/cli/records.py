"""The ``outcomes import``, ``outcomes learners`` and ``outcomes credentials`` commands.

``outcomes import credentials FILE…`` validates every record first and writes nothing unless
all are valid (``--skip-invalid``: the valid ones, the rejects beside each file); it is
idempotent on the external credential id and audited (counts and file names only).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from outcomes.cli.common import fail, open_database
from outcomes.errors import ValidationProblem

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from outcomes.records.csv_import import DateOrder
    from outcomes.records.importing import ImportReport

import_app = typer.Typer(
    help="Import credential records (CSV, Open Badges 3.0).", no_args_is_help=True
)
learners_app = typer.Typer(help="Learners (pseudonymous unless asked).", no_args_is_help=True)
credentials_app = typer.Typer(help="Credential records.", no_args_is_help=True)

# Files over this many rows get a progress bar.
PROGRESS_ROWS = 5_000


@dataclass(frozen=True)
class ImportRequest:
    """What ``outcomes import credentials`` was asked, for the reader of each format."""

    paths: list[Path]
    mapping: dict[str, str]
    encoding: str | None
    delimiter: str | None
    dates: str
    skip_invalid: bool
    dry_run: bool
    as_json: bool


# The reader of each --format: it imports the request's files and returns the report and a
# JSON-ready dict. The Open Badges 3.0 reader plugs in here as "ob3".
Reader = Callable[["Engine", ImportRequest, Any], tuple["ImportReport", dict[str, Any], list[str]]]


def _import_csv(
    engine: Engine, request: ImportRequest, progress: Any
) -> tuple[ImportReport, dict[str, Any], list[str]]:
    from outcomes import audit
    from outcomes.records.csv_import import CsvOptions, import_csv_files, open_csv

    options = CsvOptions(
        encoding=request.encoding,
        delimiter=request.delimiter,
        mapping=request.mapping,
        dates=cast("DateOrder", request.dates),  # checked against DATE_ORDERS
    )
    files = [open_csv(path, options) for path in request.paths]
    notes = [
        f"{f.name}: {f.encoding.value} ({f.encoding.how}), "
        f"{'tab' if f.delimiter.value == chr(9) else repr(f.delimiter.value)} delimiter, "
        f"{len(f.mapping.columns)} columns mapped"
        + (f", ignored: {', '.join(f.mapping.ignored)}" if f.mapping.ignored else "")
        for f in files
    ]
    rows = sum(f.estimated_rows for f in files)
    with progress(rows) as update:
        result = import_csv_files(
            engine,
            files,
            actor=audit.cli_actor(),
            skip_invalid=request.skip_invalid,
            dry_run=request.dry_run,
            progress=update,
        )
    notes += [f"Rejected rows and their reasons: {p}" for p in result.rejects_files]
    return result.report, result.to_dict(), notes


def _import_ob3(
    engine: Engine, request: ImportRequest, progress: Any
) -> tuple[ImportReport, dict[str, Any], list[str]]:
    import datetime as dt

    from outcomes import audit
    from outcomes.records.badge_files import estimated_files
    from outcomes.records.badge_import import import_batch
    from outcomes.records.open_badges import read_badges

    # Checking (schema validation) is the slow part: it gets its own progress bar.
    with progress(estimated_files(request.paths)) as checked:
        batch = read_badges(request.paths, today=dt.date.today(), progress=checked)
    with progress(len(batch.records)) as update:
        result = import_batch(
            engine,
            batch,
            request.paths,
            actor=audit.cli_actor(),
            skip_invalid=request.skip_invalid,
            dry_run=request.dry_run,
            progress=update,
        )
    # The core's report prints problems and conflicts; the rest only the badge reader knows.
    shown = {p.sentence() for p in result.report.problems}
    shown |= {c.sentence() for c in result.report.conflicts}
    shown |= {w.sentence() for w in result.report.warnings}
    shown.add(result.report.sentence())
    notes = [line for line in result.lines() if line not in shown]
    return result.report, result.to_dict(), notes


READERS: dict[str, Reader] = {"csv": _import_csv, "ob3": _import_ob3}
_SUFFIX_FORMAT = {".csv": "csv", ".tsv": "csv", ".txt": "csv"}


def _format_of(paths: list[Path], given: str | None) -> str:
    if given is not None:
        if given not in READERS:
            raise ValidationProblem(
                f"The format {given!r} cannot be imported here (formats: {', '.join(READERS)})."
            )
        return given
    found = {_SUFFIX_FORMAT.get(p.suffix.lower(), "ob3") for p in paths}
    if len(found) > 1:
        raise ValidationProblem("The files are of different formats: import them separately.")
    detected = found.pop()
    if detected not in READERS:
        raise ValidationProblem(
            f"{paths[0].name} looks like Open Badges, which this installation cannot import yet."
        )
    return detected


def _progress_for(as_json: bool) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def progress(total: int) -> Any:
        if as_json or total < PROGRESS_ROWS:
            yield None
            return
        with typer.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
            done = [0]

            def update(count: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            yield update

    return progress


@import_app.command("credentials")
def import_credentials(
    files: Annotated[list[Path], typer.Argument(help="The files to import (one import).")],
    format_: Annotated[
        str | None,
        typer.Option("--format", help="csv or ob3 (default: from the file names)."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="Header mapping, 'Their header=our_column,…', or a YAML/JSON mapping file.",
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="utf-8, utf-8-sig, cp1252 or latin-1 (default: detected).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="comma, semicolon, tab or one character (default: detected).")
    ] = None,
    dates: Annotated[
        str, typer.Option(help="iso (YYYY-MM-DD), dmy (DD/MM/YYYY) or mdy (MM/DD/YYYY).")
    ] = "iso",
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Import the valid records; write the rejects beside the file."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and compare, write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import credential records; nothing is written unless every record is valid."""
    from outcomes.records.csv_import import DATE_ORDERS, load_mapping_file, parse_mapping

    if dates not in DATE_ORDERS:
        fail(f"--dates must be one of {', '.join(DATE_ORDERS)}, not {dates!r}.")
    parsed: dict[str, str] = {}
    if mapping:
        candidate = Path(mapping)
        is_file = "=" not in mapping and candidate.suffix.lower() in (".yaml", ".yml", ".json")
        parsed = load_mapping_file(candidate) if is_file else parse_mapping(mapping)
    request = ImportRequest(
        paths=files,
        mapping=parsed,
        encoding=encoding,
        delimiter=delimiter,
        dates=dates,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        as_json=as_json,
    )
    reader = READERS[_format_of(files, format_)]
    engine = open_database()
    report, payload, notes = reader(engine, request, _progress_for(as_json))
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=1, default=str))
    else:
        for note in notes:
            typer.echo(note, err=True)
        _print_report(report)
    if report.refused:
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    for problem in report.problems:
        typer.echo(problem.sentence())
    if report.problem_count > len(report.problems):
        typer.echo(f"… and {report.problem_count - len(report.problems):,} more problems.")
    for conflict in report.conflicts:
        typer.echo(conflict.sentence())
    for change in report.changes:
        typer.echo(f"{change.origin}: {change.credential_id} updated: {', '.join(change.fields)}.")
    for warning in report.warnings:
        typer.echo(f"Note: {warning.sentence()}")
    for code in report.created_programmes:
        typer.echo(f"Created programme {code}.")
    typer.echo(report.sentence())


@import_app.command("template")
def import_template(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it here instead of stdout.")
    ] = None,
    describe: Annotated[
        bool, typer.Option("--describe", help="Print the columns and what they mean instead.")
    ] = False,
) -> None:
    """The CSV template: every column the importer reads, with one example row."""
    from outcomes.records.csv_import import COLUMNS, template_csv

    if describe:
        for column in COLUMNS:
            synonyms = f" (also: {', '.join(column.synonyms)})" if column.synonyms else ""
            typer.echo(f"{column.name} — required: {column.required}. {column.meaning}{synonyms}")
        return
    if output is not None:
        output.write_text(template_csv(), encoding="utf-8")
        typer.echo(f"Wrote the template to {output}.", err=True)
        return
    typer.echo(template_csv(), nl=False)


@learners_app.command("list")
def learners_list(
    with_contact: Annotated[
        bool,
        typer.Option(
            "--with-contact",
            help="Show names and e-mail addresses (personal data: the listing is audited).",
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Learners: pseudonymous reference, language, external ids, credentials held."""
    from outcomes import audit
    from outcomes.records.listing import list_learners
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        rows = list_learners(
            session, with_contact=with_contact, actor=audit.cli_actor(), limit=limit
        )
    _print_rows(rows, as_json, "No learners yet.")


@credentials_app.command("list")
def credentials_list(
    programme: Annotated[str | None, typer.Option(help="Only this programme (its code).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Credentials: external id, programme, learner reference, dates, grade, status."""
    from outcomes.records.listing import list_credentials
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        rows = list_credentials(session, programme_code=programme, limit=limit)
    _print_rows(rows, as_json, "No credentials yet.")


def _print_rows(rows: list[dict[str, Any]], as_json: bool, empty: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return
    if not rows:
        typer.echo(empty)
        return
    import pandas as pd

    frame = pd.DataFrame(rows)
    if "external_ids" in frame:
        frame["external_ids"] = frame["external_ids"].map(", ".join)
    typer.echo(frame.fillna("—").to_string(index=False))
