"""The ``outcomes sources`` commands: outcomes learned from other sources (employer, a public
profile staff verified, a phone call), one at a time or from a CSV file.

Without ``--by`` the command line acts as the operator (whole institution; ``recorded_by``
is ``cli:<os user>``); with ``--by EMAIL`` it acts as that staff account, with its role and
programme scope, and records its e-mail.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from outcomes.cli.common import echo_json_array, fail, open_database

app = typer.Typer(
    help="Outcomes learned from other sources: record one, import a CSV, list them.",
    no_args_is_help=True,
)

BY_HELP = "Act as this staff account (its scope applies, its e-mail is recorded)."


def _recorder(session: Any, by: str | None) -> Any:
    from outcomes import audit
    from outcomes.fieldwork.sources import command_line_recorder, staff_recorder

    if by is None:
        return command_line_recorder()
    return staff_recorder(session, by, actor=audit.cli_actor())


@app.command("record")
def record(
    learner: Annotated[str, typer.Argument(help="Learner ref, external id or e-mail address.")],
    wave: Annotated[str, typer.Option(help="The wave: its id or exact name.")],
    activity: Annotated[str, typer.Option(help="The primary activity (vocab.ACTIVITIES).")],
    source: Annotated[
        str,
        typer.Option(help="Where it was learned: employer, staff_verified, public_profile, phone."),
    ],
    observed_on: Annotated[
        str | None, typer.Option(help="When it was true (YYYY-MM-DD; default today).")
    ] = None,
    hours: Annotated[float | None, typer.Option(help="Usual hours per week.")] = None,
    salary: Annotated[float | None, typer.Option(help="Pay, in --currency per --period.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code, e.g. EUR.")] = None,
    period: Annotated[str | None, typer.Option(help="hourly, weekly, monthly or annual.")] = None,
    occupation: Annotated[str | None, typer.Option(help="ISCO-08 major group (0–9).")] = None,
    industry: Annotated[str | None, typer.Option(help="ISIC Rev.4 section (A–U).")] = None,
    job_related: Annotated[
        int | None, typer.Option(help="How related the job is to the programme (1–5).")
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="How it was learned (≤ 2000 characters).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an outcome from another source (audited).")
    ] = False,
    by: Annotated[str | None, typer.Option(help=BY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Record one outcome learned elsewhere for a graduate's invitation in a wave."""
    from outcomes.config import get_settings
    from outcomes.fieldwork.sources import parse_outcome, record_other_outcome
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    values: dict[str, Any] = {
        "learner": learner,
        "wave": wave,
        "source": source,
        "activity": activity,
        "observed_on": _date(observed_on),
        "hours_per_week": hours,
        "salary": salary,
        "currency": currency,
        "period": period,
        "occupation_isco": occupation,
        "industry_isic": industry,
        "job_related": job_related,
        "note": note,
    }
    outcome = parse_outcome(values)
    settings = get_settings()
    with session_scope(open_database()) as session:
        recorded = record_other_outcome(
            session,
            settings,
            outcome,
            recorder=_recorder(session, by),
            at=utcnow(),
            replace=replace,
            via="cli",
        )
    if as_json:
        typer.echo(json.dumps(recorded.to_dict(), ensure_ascii=False))
        return
    verb = f"replaced the outcome from {recorded.replaced}" if recorded.replaced else "recorded"
    typer.echo(
        f"Outcome {recorded.outcome_id} {verb}: {recorded.activity} ({recorded.source}, "
        f"observed {recorded.observed_on}) for {recorded.learner_ref} in wave '{recorded.wave}'."
    )
    if recorded.salary_note:
        typer.echo(f"The salary is kept but excluded from salary figures: {recorded.salary_note}.")


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--observed-on '{text}' is not a date (YYYY-MM-DD).")


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and write nothing.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Rows may replace outcomes from other sources (audited)."),
    ] = False,
    by: Annotated[str | None, typer.Option(help=BY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import outcomes from a CSV (`outcomes sources template`): all rows or none."""
    from outcomes.config import get_settings
    from outcomes.fieldwork.sources_csv import import_other_outcomes
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    settings = get_settings()
    data = file.read_bytes()
    with session_scope(open_database()) as session:
        report = import_other_outcomes(
            session,
            settings,
            data,
            recorder=_recorder(session, by),
            at=utcnow(),
            dry_run=dry_run,
            replace=replace,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        for reject in report.rejects:
            where = f"row {reject.row}" + (f", {reject.column}" if reject.column else "")
            typer.echo(f"{where}: {reject.message}")
        typer.echo(report.summary())
    if report.rejects:
        raise typer.Exit(1)


@app.command("template")
def template() -> None:
    """Print the CSV header and one example row."""
    from outcomes.fieldwork.sources_csv import template_csv

    typer.echo(template_csv(), nl=False)


@app.command("list")
def list_(
    wave: Annotated[str | None, typer.Option(help="Only this wave (its id or name).")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many, newest first.")
    ] = None,
    by: Annotated[str | None, typer.Option(help=BY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Outcomes recorded from other sources (learner refs only: no names or e-mails)."""
    from outcomes.fieldwork.sources import list_other_outcomes
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        frame = list_other_outcomes(
            session, recorder=_recorder(session, by), wave=wave, limit=limit
        )
    if as_json:
        echo_json_array(frame)
        return
    if frame.empty:
        typer.echo("No outcomes from other sources match.")
        return
    shown = frame.drop(columns=["note", "recorded_at"])
    typer.echo(shown.to_string(index=False))
