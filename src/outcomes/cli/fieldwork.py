"""``outcomes fieldwork run``, ``outcomes invite`` and ``outcomes remind``: the outbox by hand.

``fieldwork run`` is what cron or a systemd timer calls every few minutes (docs/fieldwork.md,
"E-mail"); concurrent runs are safe. ``invite`` and ``remind`` do one step for one wave.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from outcomes.cli.common import fail, open_database

if TYPE_CHECKING:
    from outcomes.fieldwork.sending import RunReport

app = typer.Typer(help="Survey fieldwork: send what is due.", no_args_is_help=True)

WaveArgument = Annotated[int, typer.Argument(help="The survey wave's id.")]


def _say(report: RunReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    planned, sent, recovered = report.planned, report.sent, report.recovered
    typer.echo(f"Planned {planned.invitations} invitation(s) and {planned.reminders} reminder(s).")
    typer.echo(
        f"Sent {sent.sent}; bounced {sent.bounced}; failed for now {sent.failed_temporary} "
        f"(retried later); given up {sent.gave_up}; refused {sent.refused}; no longer due "
        f"{sent.cancelled}; uncertain {sent.uncertain}."
    )
    if recovered.uncertain or recovered.released:
        typer.echo(
            f"A sender that stopped earlier left {recovered.uncertain} message(s) uncertain "
            f"(not sent again) and {recovered.released} back in the queue."
        )
    if sent.unreachable:
        typer.echo(f"The rest waits for a later run: {sent.unreachable}.", err=True)


def _run(wave: int | None, *, invitations: bool, reminders: bool) -> RunReport:
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.fieldwork.outbox import require_wave
    from outcomes.fieldwork.sending import run_fieldwork
    from outcomes.store.engine import session_scope

    settings = get_settings()
    engine = open_database()
    if wave is not None:
        with session_scope(engine) as session:
            require_wave(session, wave)
    return run_fieldwork(
        engine,
        settings,
        wave_id=wave,
        invitations=invitations,
        reminders=reminders,
        actor=audit.cli_actor(),
    )


@app.command("run")
def run(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send what is due in every open wave: first invitations, then reminders by plan.

    Safe to run from cron or a systemd timer every few minutes, and twice at once: a message
    is claimed by one sender only. In demo mode nothing leaves the machine (see the Outbox page).
    """
    _say(_run(None, invitations=True, reminders=True), as_json)


def invite(
    wave: WaveArgument,
    send: Annotated[bool, typer.Option("--send", help="Send them now.")] = False,
    print_links: Annotated[
        bool,
        typer.Option(
            "--print-links",
            help="Print one fresh personal link per line instead, for a mail merge in another "
            "tool (earlier links of these invitations stop working).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Queue the wave's first invitations in the outbox (--send: and send them now)."""
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.fieldwork.outbox import plan_due, require_wave
    from outcomes.fieldwork.outbox import print_links as mint_links
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    if send and print_links:
        fail("Choose --send or --print-links, not both.")
    if send:
        _say(_run(wave, invitations=True, reminders=False), as_json)
        return
    settings = get_settings()
    engine = open_database()
    if print_links:
        with session_scope(engine) as session:
            printed = mint_links(session, settings, wave, actor=audit.cli_actor(), at=utcnow())
        for url in printed.urls:
            typer.echo(url)
        typer.echo(
            f"Printed {len(printed.urls)} fresh personal link(s) for wave {wave}; the earlier "
            "link of each invitation no longer opens"
            + (
                f" ({printed.replaced_sent_links} had already been e-mailed one)"
                if printed.replaced_sent_links
                else ""
            )
            + ", and the outbox will not send these graduates a first invitation.",
            err=True,
        )
        return
    with session_scope(engine) as session:
        require_wave(session, wave)
        planned = plan_due(session, at=utcnow(), wave_id=wave, reminders=False)
    if as_json:
        typer.echo(json.dumps({"planned": {"invitations": planned.invitations}}))
        return
    typer.echo(
        f"Queued {planned.invitations} invitation(s) of wave {wave}; 'outcomes fieldwork run' "
        "(or 'outcomes invite WAVE --send') sends them."
    )


def remind(
    wave: WaveArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send the wave's reminders that are due by its plan (at most N, at least D days apart)."""
    _say(_run(wave, invitations=False, reminders=True), as_json)
