"""What every command shares: one way to open the database, one way to say what went wrong.

Kept light on purpose (typer and the kernel only): ``outcomes --help`` and ``--version``
import this module and nothing heavy; commands import what they need inside their bodies.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from outcomes.errors import OutcomesError

if TYPE_CHECKING:
    import pandas as pd
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


def json_value(value: object) -> object:
    """A frame's cell as a JSON value: NaN and NaT as null, times as ISO text, numpy as Python."""
    if value is None or (isinstance(value, str | bool | int | float) and value == value):
        return value
    if value != value:  # NaN / NaT from pandas
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()  # type: ignore[no-any-return]
    return str(value)


def echo_json_array(frame: pd.DataFrame) -> None:
    """Print a listing's rows as one JSON array of objects (what every ``--json`` prints)."""
    records: list[dict[str, Any]] = [
        {str(key): json_value(value) for key, value in record.items()}
        for record in frame.to_dict(orient="records")
    ]
    typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
