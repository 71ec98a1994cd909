"""The ``outcomes privacy`` commands: export, erase and purge, audited with the OS user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outcomes.cli.common import open_database
from outcomes.errors import ValidationProblem

app = typer.Typer(help="Privacy requests: access, erasure and retention.", no_args_is_help=True)

LearnerArgument = Annotated[
    str, typer.Argument(help="The learner's ref (UUID), e-mail address or external id.")
]


@app.command("export")
def export(
    learner: LearnerArgument,
    out: Annotated[
        Path, typer.Option(help="Directory to write to, or a path ending in .zip.")
    ] = Path("privacy-export"),
) -> None:
    """Write everything held about a learner as JSON and CSV files (or one zip)."""
    from outcomes import audit
    from outcomes.privacy.rights import lookup, write_export
    from outcomes.store.engine import session_scope

    # The files are written inside the unit of work: if writing fails, the audit event of
    # the export is rolled back with it, and nothing half-written is left at ``out``.
    with session_scope(open_database()) as session:
        record = lookup(session, key=learner, actor=audit.cli_actor(), purpose="exported")
        try:
            paths = write_export(record, out)
        except OSError as exc:
            raise ValidationProblem(
                f"Could not write the export to {out} ({exc.strerror or exc})."
            ) from None
    if out.suffix == ".zip":
        message = f"Wrote {record.row_count()} rows to {out}."
    else:
        message = f"Wrote {record.row_count()} rows in {len(paths)} files to {out}/."
    typer.echo(message)


@app.command("erase")
def erase(
    learner: LearnerArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    mode: Annotated[
        str | None, typer.Option(help="anonymise or delete (default: OUTCOMES_ERASURE_MODE).")
    ] = None,
) -> None:
    """Erase a learner's identity (anonymise) or every row of theirs (delete)."""
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.privacy.rights import erase_learner, find_learner
    from outcomes.store.engine import session_scope

    engine = open_database()
    with session_scope(engine) as session:
        found = find_learner(session, learner)
        learner_id = found.id
    assert learner_id is not None
    if not yes:
        typer.confirm(f"Erase learner {learner_id}? This cannot be undone", abort=True)
    with session_scope(engine) as session:
        report = erase_learner(
            session,
            learner_id=learner_id,
            actor=audit.cli_actor(),
            settings=get_settings(),
            mode=mode,
        )
    typer.echo(report.summary())


@app.command("purge")
def purge(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            help="Years since the last award or enrolment end (default: OUTCOMES_RETENTION_YEARS).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase learners past the retention period and clear expired invitation tokens."""
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.privacy.rights import purge as purge_learners
    from outcomes.store.engine import session_scope

    if not yes:
        typer.confirm("Erase every learner past the retention period?", abort=True)
    with session_scope(open_database()) as session:
        report = purge_learners(
            session,
            actor=audit.cli_actor(),
            settings=get_settings(),
            older_than_years=older_than,
        )
    typer.echo(report.summary())
