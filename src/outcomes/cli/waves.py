"""The ``outcomes waves`` commands: define a survey wave, preview, launch and close it.

The operator acts with the whole institution in scope, as every command does; actions are
audited with the operating-system user (``audit.cli_actor``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from outcomes.cli.common import open_database

app = typer.Typer(
    help="Survey waves: create, list, show (with the population), launch, close.",
    no_args_is_help=True,
)

WaveArgument = Annotated[int, typer.Argument(help="The wave's id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _echo_json(payload: object) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=1))


@app.command("create")
def create(
    instrument: Annotated[str, typer.Option(help="The instrument's key, e.g. follow-up-6m.")],
    awarded_from: Annotated[str, typer.Option(help="First award date covered (YYYY-MM-DD).")],
    awarded_to: Annotated[str, typer.Option(help="Last award date covered (YYYY-MM-DD).")],
    months: Annotated[int, typer.Option(help="Months after the award (0 to 240).")],
    opens: Annotated[str, typer.Option(help="The day the survey opens (YYYY-MM-DD).")],
    closes: Annotated[str, typer.Option(help="The last day it can be answered (YYYY-MM-DD).")],
    programme: Annotated[
        list[str] | None,
        typer.Option(help="A programme code to survey (repeatable); none: every programme."),
    ] = None,
    reminders: Annotated[int, typer.Option(help="At most this many reminders (0 to 10).")] = 2,
    reminder_gap_days: Annotated[
        int, typer.Option(help="At least this many days between messages (1 to 90).")
    ] = 7,
    non_completers: Annotated[
        bool,
        typer.Option(
            "--non-completers",
            help="Also invite learners who withdrew (only if the instrument allows it).",
        ),
    ] = False,
    response_target: Annotated[
        float | None, typer.Option(help="Response-rate target, above 0 and at most 1.")
    ] = None,
    knowledge_target: Annotated[
        float | None, typer.Option(help="Knowledge-rate target, above 0 and at most 1.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="A unique name (default: instrument and window).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a draft wave and print it (its id first); nothing is sent until launch."""
    from outcomes import audit
    from outcomes.fieldwork.waves import create_wave, parse_wave_input
    from outcomes.store.engine import session_scope

    data = parse_wave_input(
        {
            "instrument": instrument,
            "programmes": list(programme or []),
            "awarded_from": awarded_from,
            "awarded_to": awarded_to,
            "months": months,
            "opens_on": opens,
            "closes_on": closes,
            "reminders": reminders,
            "reminder_gap_days": reminder_gap_days,
            "non_completers": non_completers,
            "response_target": response_target,
            "knowledge_target": knowledge_target,
            "name": name,
        }
    )
    with session_scope(open_database()) as session:
        wave = create_wave(session, data, actor=audit.cli_actor(), scope=None)
    if as_json:
        _echo_json(wave.to_json())
        return
    typer.echo(wave.line())  # only once committed


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Every wave, newest first."""
    from outcomes.fieldwork.waves import list_waves
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        waves = list_waves(session, scope=None)
    if as_json:
        _echo_json([wave.to_json() for wave in waves])
        return
    if not waves:
        typer.echo("No waves yet: create one with 'outcomes waves create'.")
        return
    for wave in waves:
        typer.echo(wave.line())


@app.command("show")
def show(wave: WaveArgument, as_json: JsonOption = False) -> None:
    """One wave, its population by programme and its fieldwork figures (the monitor's)."""
    import dataclasses

    from outcomes.config import get_settings
    from outcomes.fieldwork.monitor import wave_figures
    from outcomes.fieldwork.waves import show_wave
    from outcomes.store.engine import session_scope

    settings = get_settings()
    with session_scope(open_database()) as session:
        detail = show_wave(session, wave, scope=None)
        figures = wave_figures(session, wave, scope=None, settings=settings)
    if as_json:
        detail = dataclasses.replace(detail, extra={"figures": figures.to_json()})
        _echo_json(detail.to_json())
        return
    typer.echo(detail.wave.line())
    for key, value in detail.wave.to_json().items():
        typer.echo(f"  {key}: {_shown(value)}")
    population = detail.population.to_json()
    typer.echo(f"Population: {population['total']}")
    header = ("programme", "to_invite", "skipped_opted_out", "skipped_erased", "already_invited")
    typer.echo("  " + "  ".join(f"{h:>17}" for h in header))
    for row in population["by_programme"]:
        typer.echo("  " + "  ".join(f"{row[h]!s:>17}" for h in header))
    typer.echo('Fieldwork (docs/fieldwork.md, "The monitor"):')
    typer.echo(figures.table().to_string(index=False))


@app.command("launch")
def launch(wave: WaveArgument, as_json: JsonOption = False) -> None:
    """Open the wave and create the missing invitations (safe to run again)."""
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.fieldwork.waves import launch_wave
    from outcomes.store.engine import session_scope

    settings = get_settings()
    with session_scope(open_database()) as session:
        result = launch_wave(session, settings, wave, actor=audit.cli_actor(), scope=None)
    if as_json:
        _echo_json(result.to_json())
        return
    typer.echo(result.sentence())


@app.command("close")
def close(wave: WaveArgument, as_json: JsonOption = False) -> None:
    """Close the wave: answering stops and its pending messages are cancelled."""
    from outcomes import audit
    from outcomes.fieldwork.waves import close_wave
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        result = close_wave(session, wave, actor=audit.cli_actor(), scope=None)
    if as_json:
        _echo_json(result.to_json())
        return
    typer.echo(result.sentence())


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "every programme"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
