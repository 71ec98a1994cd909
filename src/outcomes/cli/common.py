"""What every command shares: one way to open the database, one way to say what went wrong.

Kept light on purpose (typer and the kernel only): ``outcomes --help`` and ``--version``
import this module and nothing heavy; commands import what they need inside their bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

from outcomes.errors import OutcomesError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ERROR_PREFIX = "Error: "


def fail(error: OutcomesError | str, exit_code: int | None = None) -> NoReturn:
    """Print one line on stderr (``Error: <sentence>``) and exit non-zero."""
    typer.echo(f"{ERROR_PREFIX}{error}", err=True)
    code = exit_code if exit_code is not None else getattr(error, "exit_code", 1)
    raise typer.Exit(code)


def open_database(*, migrated: bool = True) -> Engine:
    """The engine of ``OUTCOMES_DATABASE_URL``; refused (one sentence) unless it is migrated.

    ``migrated=False`` is for the commands that bring a database up to date themselves.
    """
    from outcomes.config import get_settings
    from outcomes.store import migrate

    return migrate.open_database(get_settings().database_url, migrated=migrated)
