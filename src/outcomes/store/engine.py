"""Engines and units of work for SQLite (embedded) and PostgreSQL (production).

``make_engine(url)`` is a factory: nothing connects at import, the app caches the engine with
``st.cache_resource`` and every unit of work opens its own session with ``session_scope``.

SQLite gets the pragmas that make it a dependable multi-user store (WAL, foreign keys,
busy timeout, synchronous=NORMAL, secure_delete) and every transaction begins
``IMMEDIATE``: a read-then-write transaction otherwise fails with "database is locked"
whatever the timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session

from outcomes.errors import DatabaseError, IntegrityProblem
from outcomes.private_files import create_private_file, make_private_directories

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_path(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with the settings this product relies on."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            # Made here, before SQLite opens it, so the database and its directory are
            # private (0600 / 0700); SQLite gives -wal and -shm files the database's mode.
            make_private_directories(path.parent)
            create_private_file(path, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise DatabaseError(
                f"The database URL uses the '{parsed.get_driver_name()}' driver: use "
                "postgresql+psycopg://… (psycopg 3)."
            )
        return sa.create_engine(
            parsed, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": 5}
        )
    raise DatabaseError(
        f"Unsupported database '{parsed.get_backend_name()}': use sqlite:/// or "
        "postgresql+psycopg://."
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Erased identities and free text are overwritten with zeros rather than left in free
        # pages, where they could be read back from the file. Per connection, so that every
        # path that deletes or shrinks a row is covered (erasure, purge, delete mode). Cost,
        # measured on this 2-core machine: within run-to-run noise for the demo generator
        # (20,000 learners, 8.6–9.6 s either way), erasing 500 learners (about 2–3 s either
        # way) and a bulk delete of every response and outcome (0.4–0.6 s either way).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def explain_database_error(exc: BaseException, url: str | None = None) -> DatabaseError:
    """Turn a driver error into one plain sentence."""
    where = f" at {describe_url(url)}" if url else ""
    if isinstance(exc, OperationalError | DBAPIError):
        text = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else ""
        lowered = text.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return DatabaseError(
                f"The database{where} has not been set up: run 'outcomes db upgrade' first."
            )
        if "locked" in lowered:
            return DatabaseError(f"The database{where} is busy: try again in a moment.")
        return DatabaseError(f"The database{where} could not be reached ({text}).")
    return DatabaseError(f"The database{where} failed: {exc}.")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close.

    Integrity violations become ``IntegrityProblem`` and lost connections ``DatabaseError``,
    each with one plain sentence; nothing half-written remains.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise IntegrityProblem(describe_integrity_error(exc)) from None
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        raise explain_database_error(exc, engine.url.render_as_string()) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def describe_integrity_error(exc: IntegrityError) -> str:
    """One sentence for a constraint violation, naming the rule that was broken."""
    text = str(exc.orig).strip().splitlines()[0]
    lowered = text.lower()
    if "unique" in lowered or "duplicate key" in lowered:
        return f"That record already exists (a value that must be unique is repeated: {text})."
    if "foreign key" in lowered:
        return f"That record refers to something that does not exist ({text})."
    if "not null" in lowered or "null value" in lowered:
        return f"A required value is missing ({text})."
    if "check" in lowered:
        return f"A value is not one the data model allows ({text})."
    return f"The change breaks a rule of the data model ({text})."
