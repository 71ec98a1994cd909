"""The ``outcomes invitations`` commands: see where invitations stand, reissue a link."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from outcomes.cli.common import echo_json_array, json_value, open_database

app = typer.Typer(
    help="Survey invitations: list them, reissue a personal link.", no_args_is_help=True
)


@app.command("list")
def list_(
    wave: Annotated[int | None, typer.Option(help="Only this wave (its id).")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="Only invitations in this state (repeatable): not_sent, sent, opened, started, "
            "submitted, declined, opted_out, expired."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Invitations with their state (ids only: no names, addresses or links)."""
    from outcomes.fieldwork.invitations import list_invitations
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    with session_scope(open_database()) as session:
        frame = list_invitations(
            session, utcnow(), wave_id=wave, statuses=tuple(status or ()), limit=limit
        )
    if as_json:
        echo_json_array(frame)
        return
    if frame.empty:
        typer.echo("No invitations match.")
        return
    shown = frame.copy()
    for column in ("sent_at", "opened_at", "submitted_at", "expires_at"):
        shown[column] = shown[column].map(_short_time)
    typer.echo(shown.to_string(index=False))


@app.command("reissue")
def reissue(
    invitation: Annotated[int, typer.Argument(help="The invitation's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Mint a fresh personal link for an invitation and print it; the old link stops working."""
    from outcomes import audit
    from outcomes.config import get_settings
    from outcomes.fieldwork.invitations import reissue as reissue_link
    from outcomes.store.engine import session_scope
    from outcomes.store.tables import utcnow

    settings = get_settings()
    with session_scope(open_database()) as session:
        fresh = reissue_link(session, settings, invitation, actor=audit.cli_actor(), at=utcnow())
    if as_json:
        payload = {
            "invitation_id": fresh.invitation_id,
            "url": fresh.url,
            "opt_out_url": fresh.opt_out_url,
            "expires_at": fresh.expires_at.isoformat(),
        }
        typer.echo(json.dumps(payload))
        return
    typer.echo(fresh.url)
    typer.echo(
        f"Invitation {fresh.invitation_id}: the link above works until "
        f"{fresh.expires_at:%Y-%m-%d %H:%M} UTC; the old link no longer opens.",
        err=True,
    )


# Moved to ``cli.common`` (every listing's ``--json`` shares it); kept for older imports.
_json_value = json_value


def _short_time(value: object) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:%Y-%m-%d %H:%M}" if hasattr(value, "strftime") else str(value)
