"""Shared fixtures: a migrated database on SQLite, and on PostgreSQL when it is configured.

Every database test runs on a temp-file SQLite database, and again on PostgreSQL when
``OUTCOMES_TEST_DATABASE_URL`` is set. Tests that write get a database of their own
(``engine``, ``database_url``, ``app_engine``: on PostgreSQL a schema, dropped after); tests
that only read share one built once per engine in each test process (``engine_name`` and
``shared_databases``). A test that opens a SQLite database without running on PostgreSQL too
fails, unless it says why (``sqlite_only``) or is about SQLite itself (``sqlite_engine``);
see "Tests" in docs/architecture.md.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

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
ENGINES = ("sqlite", "postgresql")
NO_POSTGRES = "OUTCOMES_TEST_DATABASE_URL is not set, so PostgreSQL is not tested here"
# The fixture for tests about SQLite itself.
SQLITE_FIXTURE = "sqlite_engine"

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): opens a SQLite database and does not run on PostgreSQL, for the "
        "reason given (listed in docs/architecture.md)",
    )


def _skip_unless_configured(engine: str) -> None:
    if engine == "postgresql" and not PG_URL:
        pytest.skip(NO_POSTGRES)


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


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a temp-file SQLite, or a fresh PostgreSQL schema."""
    _skip_unless_configured(request.param)
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outcomes.db'}"
        return
    assert PG_URL is not None
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
    db_path = tmp_path / "var" / "outcomes.db"
    _test_settings(monkeypatch, f"sqlite:///{db_path}")
    return db_path


def _test_settings(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Only the test database and secret key among the settings."""
    for key in list(os.environ):
        if key.startswith("OUTCOMES_") and key != "OUTCOMES_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", database_url)
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)


def release_app_engine(url: str) -> None:
    """Close the engine the app caches for ``url`` (``st.cache_resource``, once per URL).

    Every test database has a URL of its own, so without this each would keep its pool of
    connections open until the run ends.
    """
    from outcomes.web import context as webapp

    webapp._engine_for(url).dispose()
    webapp._engine_for.clear(url)


@pytest.fixture
def app_engine(
    outcomes_env: Path, database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """``outcomes_env`` pointed at the migrated ``engine`` database, on each engine.

    For tests that run the app (``AppTest``) or the CLI in this process and write.
    """
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", database_url)
    yield engine
    release_app_engine(database_url)


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each engine once, for fixtures that build a database shared by read-only tests."""
    _skip_unless_configured(request.param)
    return str(request.param)


@dataclass(frozen=True)
class SharedDatabase(Generic[T]):
    """A migrated database built once per engine per test process; tests only read it."""

    url: str
    engine: Engine
    built: T  # what the builder returned (ids, a demo summary)


class SharedDatabases:
    """Databases built on first use, kept until the test process ends, then dropped."""

    def __init__(self, tmp: pytest.TempPathFactory, cleanup: ExitStack) -> None:
        self._tmp = tmp
        self._cleanup = cleanup
        self._built: dict[tuple[str, str], SharedDatabase[Any]] = {}
        self._used_by_the_app: set[str] = set()

    def get(self, name: str, engine: str, build: Callable[[Engine], T]) -> SharedDatabase[T]:
        """The database ``name`` on ``engine``, built by ``build`` when first asked for."""
        key = (name, engine)
        if key not in self._built:
            if engine == "sqlite":
                url = f"sqlite:///{self._tmp.mktemp(name) / 'outcomes.db'}"
            else:
                assert PG_URL is not None
                url = self._cleanup.enter_context(contextmanager(_postgres_schema_url)(PG_URL))
            made = make_engine(url)
            self._cleanup.callback(made.dispose)
            upgrade(made)
            with pytest.MonkeyPatch.context() as monkeypatch:  # the settings tests run with
                _test_settings(monkeypatch, url)
                built = build(made)
            self._built[key] = SharedDatabase(url, made, built)
        return self._built[key]  # type: ignore[return-value]

    def use(self, database: SharedDatabase[T], monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the settings at ``database`` for one test (after ``outcomes_env``)."""
        monkeypatch.setenv("OUTCOMES_DATABASE_URL", database.url)
        if database.url not in self._used_by_the_app:
            self._used_by_the_app.add(database.url)
            self._cleanup.callback(release_app_engine, database.url)


@pytest.fixture(scope="session")
def shared_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedDatabases]:
    """The read-only databases of this test process, by name and engine."""
    with ExitStack() as cleanup:
        yield SharedDatabases(tmp_path_factory, cleanup)


def read_only_database(name: str, build: Callable[[Engine], T]) -> Any:
    """A fixture: the settings point at database ``name``, on each engine, which ``build``
    fills once per engine in each test process; the tests that take it only read it.

    ``demo = read_only_database("demo", build)`` in a test module; a test takes ``demo``
    (a ``SharedDatabase``) and runs once per engine.
    """

    @pytest.fixture
    def shared(
        outcomes_env: Path,
        engine_name: str,
        shared_databases: SharedDatabases,
        monkeypatch: pytest.MonkeyPatch,
    ) -> SharedDatabase[T]:
        database = shared_databases.get(name, engine_name, build)
        shared_databases.use(database, monkeypatch)
        return database

    return shared


class _SqliteOpened:
    """Whether the running test opened a SQLite connection (any engine, in this process)."""

    def __init__(self) -> None:
        self.opened = False

    def __call__(self, connection: sa.Connection) -> None:
        if connection.engine.dialect.name == "sqlite":
            self.opened = True


def _runs_on_each_engine(item: pytest.Item) -> bool:
    """Whether ``item`` is one engine's run of a test parametrized over ``ENGINES``."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return any(isinstance(value, str) and value in ENGINES for value in params)


_SQLITE_OPENED = _SqliteOpened()
sa.event.listen(Engine, "engine_connect", _SQLITE_OPENED)


@pytest.fixture(autouse=True)
def _every_database_test_runs_on_both_engines(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that opens a SQLite database but is never run on PostgreSQL.

    It passes if it runs once per engine (``database_url``, ``engine``, ``app_engine``,
    ``engine_name``, or any fixture parametrized over ``ENGINES``), is about SQLite itself
    (``sqlite_engine``), or is marked ``sqlite_only(reason)``. Only connections made in this
    process are seen, during the test and its function-scoped fixtures: the CLI run as a
    command and a served app follow the rule by review.
    """
    _SQLITE_OPENED.opened = False
    yield
    if (
        _SQLITE_OPENED.opened
        and not _runs_on_each_engine(request.node)
        and SQLITE_FIXTURE not in request.fixturenames
        and request.node.get_closest_marker("sqlite_only") is None
    ):
        pytest.fail(
            "This test opens a SQLite database but never runs on PostgreSQL: take the "
            "`engine`, `app_engine` or `database_url` fixture (`read_only_database` for a "
            "shared read-only one), or mark it `@pytest.mark.sqlite_only(reason)` "
            "(see Tests in docs/architecture.md).",
            pytrace=False,
        )
