"""PostgreSQL's two roles: the owner migrates, the runtime role runs the app and cannot alter
the audit trail (no UPDATE, DELETE or TRUNCATE, no disabling or dropping its trigger).

PostgreSQL only: skipped without ``OUTCOMES_TEST_DATABASE_URL``. The test creates an owner and
a runtime role with unique names, a schema the owner owns, and drops all three afterwards;
each role is taken with ``SET ROLE`` (``-c role=…``) on the test server's connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from outcomes import audit
from outcomes.access.auth import authenticate
from outcomes.access.staff import create_staff_user
from outcomes.cli.main import app as cli_app
from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.store.analysis_table import refresh_analysis_rows
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.migrate import check_current, upgrade
from outcomes.store.runtime_role import grant_runtime, runtime_grants
from tests import factories
from tests.conftest import PG_URL, TEST_SECRET_KEY


class Roles(NamedTuple):
    owner: str
    runtime: str
    owner_engine: Engine
    runtime_engine: Engine
    owner_url: str


def _url_as(base: str, schema: str, role: str) -> str:
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema} -crole={role}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def roles() -> Iterator[Roles]:
    if not PG_URL:
        pytest.skip("OUTCOMES_TEST_DATABASE_URL is not set, so PostgreSQL is not tested here")
    suffix = uuid.uuid4().hex[:10]
    owner, runtime, schema = f"t_owner_{suffix}", f"t_app_{suffix}", f"t_roles_{suffix}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {owner} NOLOGIN")
        conn.exec_driver_sql(f"CREATE ROLE {runtime} NOLOGIN")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}")
    owner_url = _url_as(PG_URL, schema, owner)
    owner_engine, runtime_engine = (
        make_engine(owner_url),
        make_engine(_url_as(PG_URL, schema, runtime)),
    )
    try:
        yield Roles(owner, runtime, owner_engine, runtime_engine, owner_url)
    finally:
        owner_engine.dispose()
        runtime_engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            conn.exec_driver_sql(f"DROP OWNED BY {runtime}, {owner}")
            conn.exec_driver_sql(f"DROP ROLE {runtime}")
            conn.exec_driver_sql(f"DROP ROLE {owner}")
        admin.dispose()


def _refused(engine: Engine, statement: str) -> None:
    refused = pytest.raises(sa.exc.DBAPIError, match=r"permission denied|must be owner")
    with refused, engine.begin() as conn:
        conn.exec_driver_sql(statement)


def test_the_runtime_role_writes_the_trail_but_cannot_alter_it(roles: Roles) -> None:
    upgrade(roles.owner_engine)
    granted = CliRunner().invoke(
        cli_app,
        ["db", "grant-runtime", roles.runtime],
        env={"OUTCOMES_DATABASE_URL": roles.owner_url, "OUTCOMES_SECRET_KEY": TEST_SECRET_KEY},
    )
    assert granted.exit_code == 0, granted.output
    assert granted.output.startswith(f"Role {roles.runtime} may now use the ")
    app = roles.runtime_engine
    with app.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar() == roles.runtime

    check_current(app)
    with app.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_event (occurred_at, actor, action) VALUES (now(), 'raw', 'raw')"
        )
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_event").scalar() == 1
    with session_scope(app) as session:
        event = audit.record(session, actor="staff:1", action="staff.created", detail={"a": 1})
    assert event.id == 2 and event.chain_hash

    for statement in (
        "UPDATE audit_event SET actor = 'someone else'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "DROP TABLE audit_event",
        "UPDATE alembic_version SET version_num = '0001'",
        "CREATE TABLE intruder (id int)",
    ):
        _refused(app, statement)
    with session_scope(app) as session:
        report = audit.verify_trail(session)
    # The raw row has no hash, so verification names it: only audit.record chains events.
    assert report.broken is not None and report.broken.event_id == 1


def test_ordinary_app_work_runs_as_the_runtime_role(roles: Roles) -> None:
    upgrade(roles.owner_engine)
    grant_runtime(roles.owner_engine, roles.runtime)
    app = roles.runtime_engine
    password = "purple lantern over the harbour"
    with session_scope(app) as session:
        user = create_staff_user(
            session, email="ana@example.org", role="admin", password=password, actor="cli:test"
        )
    settings = Settings(secret_key=TEST_SECRET_KEY)
    with session_scope(app) as session:
        assert authenticate(
            session, email="ana@example.org", password=password, settings=settings
        ).user
    with session_scope(app) as session:
        assert (
            authenticate(
                session, email="who@example.org", password="x" * 12, settings=settings
            ).user
            is None
        )
    with session_scope(app) as session:  # records, the analysis triggers, the derived table
        enrolment = factories.completed_enrolment(
            session, factories.learner(session), factories.programme(session)
        )
        factories.invitation(session, factories.wave(session), enrolment)
    with session_scope(app) as session:
        assert refresh_analysis_rows(session=session) >= 1
    with session_scope(app) as session:
        assert refresh_analysis_rows(session=session, full=True) >= 1
        report = audit.verify_trail(session)
    assert report.intact and report.events >= 3, report.sentence()
    assert user.id is not None


def test_grant_runtime_refuses_the_owner_a_superuser_and_an_unknown_role(roles: Roles) -> None:
    upgrade(roles.owner_engine)
    for role, words in (
        (roles.owner, "the owner of the tables"),
        ("postgres", "a superuser"),
        ("nobody_" + uuid.uuid4().hex[:6], "There is no role"),
    ):
        with pytest.raises(ValidationProblem, match=words):
            grant_runtime(roles.owner_engine, role)


def test_grant_runtime_on_sqlite_says_roles_are_postgresql_only(sqlite_engine: Engine) -> None:
    with pytest.raises(ValidationProblem, match="runtime roles exist on PostgreSQL only"):
        grant_runtime(sqlite_engine, "outcomes_app")


def test_the_grants_give_the_trail_and_the_revision_less_than_the_other_tables() -> None:
    statements = runtime_grants(
        schema="app",
        role="runner",
        tables=["audit_event", "learner", "alembic_version", "analysis_row"],
    )
    assert statements == [
        'GRANT USAGE ON SCHEMA "app" TO "runner"',
        'REVOKE ALL ON ALL TABLES IN SCHEMA "app" FROM "runner"',
        'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "app" FROM "runner"',
        'GRANT SELECT ON TABLE "app"."alembic_version" TO "runner"',
        'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLE "app"."analysis_row" TO "runner"',
        'GRANT SELECT, INSERT ON TABLE "app"."audit_event" TO "runner"',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "app"."learner" TO "runner"',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "app" TO "runner"',
    ]
