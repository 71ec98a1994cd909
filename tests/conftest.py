"""Shared fixtures: a migrated database on SQLite, and on PostgreSQL when it is configured.

Every database test runs on a temp-file SQLite database, and again on PostgreSQL when
``OUTCOMES_TEST_DATABASE_URL`` is set (each test gets a schema of its own, dropped after).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine

from outcomes.store.engine import make_engine
from outcomes.store.migrate import upgrade

# No per-example deadline: speed is measured in benchmarks, never asserted in tests, and a
# shared 2-core machine would make a deadline flaky.
hypothesis_settings.register_profile("outcomes", deadline=None)
hypothesis_settings.load_profile("outcomes")

PG_URL = os.environ.get("OUTCOMES_TEST_DATABASE_URL")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def _postgres_schema_url(base: str) -> Iterator[str]:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        # The environment asked for PostgreSQL: its absence is a failure, never a skip, so a
        # run cannot go green without the coverage it promised.
        pytest.fail(
            f"PostgreSQL at OUTCOMES_TEST_DATABASE_URL is not reachable: {exc.orig}",
            pytrace=False,
        )
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    """Drop a test schema; a connection a test leaked inside a transaction must not hang CI."""
    with admin.connect() as conn:
        conn.execute(sa.text("SET lock_timeout = '5s'"))
        try:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            return
        except sa.exc.OperationalError:
            pass
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state LIKE 'idle in transaction%' AND query_start < now()"
            )
        )
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a temp-file SQLite, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outcomes.db'}"
        return
    if not PG_URL:
        pytest.skip("OUTCOMES_TEST_DATABASE_URL is not set, so PostgreSQL is not tested here")
    yield from _postgres_schema_url(PG_URL)


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty, unmigrated database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database migrated to the newest schema."""
    upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated temp-file SQLite database (for tests about SQLite itself)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'outcomes.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def outcomes_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the settings at a temp SQLite database with a test secret key."""
    for key in list(os.environ):
        if key.startswith("OUTCOMES_") and key != "OUTCOMES_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    db_path = tmp_path / "var" / "outcomes.db"
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", f"sqlite:///{db_path}")
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)
    return db_path
