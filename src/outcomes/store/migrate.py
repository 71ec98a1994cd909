"""Schema migrations: Alembic owns the schema; this module runs it from code and the CLI.

``upgrade(engine)`` applies every migration; ``check_current(engine)`` tells, in one
sentence, when a database is behind the code (run the upgrade) or ahead of it (a newer
version of outcomes wrote it), instead of failing later with a traceback.
``open_database(url)`` is how both shells, the app and the CLI, open the database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from outcomes.errors import DatabaseError
from outcomes.store import freshness
from outcomes.store.analysis_table import refresh_analysis_rows
from outcomes.store.engine import describe_url, explain_database_error, make_engine, session_scope

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise explain_database_error(exc, engine.url.render_as_string()) from None


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; return the revision the database is then at."""
    current = current_revision(engine)
    if current is not None and not _known(current):
        raise _newer_than_code(engine, current)
    config = alembic_config(engine)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except DBAPIError as exc:
        raise explain_database_error(exc, engine.url.render_as_string()) from None
    reached = current_revision(engine) or ""
    if reached == head_revision():
        if not freshness.triggers_in_place(engine):
            # A bulk load killed midway left the analysis triggers lifted.
            freshness.restore_triggers(engine)
        # A migration may list every graduate as stale (0002 does): rebuild now, so the
        # first dashboard after an upgrade does not pay for it.
        with session_scope(engine) as session:
            refresh_analysis_rows(session=session)
    return reached


def _newer_than_code(engine: Engine, current: str) -> DatabaseError:
    return DatabaseError(
        f"The database at {describe_url(engine.url.render_as_string())} is at schema revision "
        f"{current}, which this version of outcomes does not know: it was written by a newer "
        "version, so upgrade outcomes before using it."
    )


def check_current(engine: Engine) -> None:
    """Raise ``DatabaseError`` unless the database is at this code's head revision."""
    current = current_revision(engine)
    if current == head_revision():
        return
    if current is None:
        raise DatabaseError(
            f"The database at {describe_url(engine.url.render_as_string())} has not been set up: "
            "run 'outcomes db upgrade' first."
        )
    if not _known(current):
        raise _newer_than_code(engine, current)
    raise DatabaseError(
        f"The database at {describe_url(engine.url.render_as_string())} is at an older schema "
        f"revision ({current}): run 'outcomes db upgrade'."
    )


def open_database(url: str, *, migrated: bool = True) -> Engine:
    """The engine of ``url``; ``DatabaseError`` (one sentence) unless it is at head.

    ``migrated=False`` skips the check, for callers that bring the database up to date
    themselves. The shells add their own presentation: the app caches the engine, the CLI
    prints the error.
    """
    engine = make_engine(url)
    if migrated:
        check_current(engine)
    return engine
