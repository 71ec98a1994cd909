"""The ``outcomes audit`` commands: checking the audit trail's hash chain."""

from __future__ import annotations

import typer

from outcomes.cli.common import open_database

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Check every link of the audit trail's hash chain, in id order.

    Exit code 0 and the head hash when intact (note it elsewhere), 1 at the first broken link.
    """
    from outcomes import audit
    from outcomes.store.engine import session_scope

    engine = open_database()
    with session_scope(engine) as session:
        report = audit.verify_trail(session)
    typer.echo(report.sentence())
    if not report.intact:
        raise typer.Exit(1)
