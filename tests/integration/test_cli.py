"""The outcomes command: help, version, migrations, staff accounts, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from outcomes import __version__
from outcomes.access.staff import programme_scope, user_by_email
from outcomes.demo import generate_demo
from outcomes.store.engine import make_engine, session_scope
from tests import factories
from tests.conftest import TEST_SECRET_KEY


def outcomes(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "outcomes", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env.update(OUTCOMES_DATABASE_URL=database_url, OUTCOMES_SECRET_KEY=TEST_SECRET_KEY, **extra)
    return env


def listed_commands(help_text: str) -> list[str]:
    """The command names in the Commands box of a ``--help`` page (Unicode or ASCII box)."""
    return re.findall(r"^[│|] (\S+)  ", help_text.split("Commands", 1)[1], flags=re.MULTILINE)


def test_help_and_version(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'o.db'}")
    assert outcomes("--version", env=env).stdout.strip() == f"outcomes {__version__}"
    shown = outcomes("--help", env=env)
    assert shown.returncode == 0
    assert listed_commands(shown.stdout) == [
        "seed",
        "invite",
        "remind",
        "db",
        "users",
        "demo",
        "surveys",
        "invitations",
        "sources",
        "programmes",
        "analyze",
        "privacy",
        "audit",
        "waves",
        "fieldwork",
        "import",
        "learners",
        "credentials",
    ]
    users = outcomes("users", "--help", env=env)
    assert users.returncode == 0
    assert listed_commands(users.stdout) == [
        "add",
        "scope",
        "reset-password",
        "unlock",
        "end-sessions",
        "reset-second-factor",
    ]


def test_db_upgrade_then_an_administrator_is_added_from_standard_input(database_url: str) -> None:
    env = cli_env(database_url)
    upgraded = outcomes("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at revision" in upgraded.stdout
    added = outcomes(
        "users",
        "add",
        "Head.Of.Quality@Example.org",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="purple lantern over the harbour\n",
    )
    assert added.returncode == 0, added.stderr
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT email, role, password_hash FROM staff_user")).one()
        actions = conn.execute(sa.text("SELECT actor, action FROM audit_event")).all()
    engine.dispose()
    assert row.email == "head.of.quality@example.org" and row.role == "admin"
    assert row.password_hash.startswith("$argon2id$")
    assert [a.action for a in actions] == ["staff.created"]
    assert actions[0].actor.startswith("cli:")


def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(database_url: str) -> None:
    env = cli_env(database_url)
    not_migrated = outcomes(
        "users",
        "add",
        "a@example.org",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="purple lantern over the harbour\n",
    )
    assert not_migrated.returncode == 3
    assert not_migrated.stderr.strip().count("\n") == 0
    assert "outcomes db upgrade" in not_migrated.stderr

    outcomes("db", "upgrade", env=env)
    weak = outcomes(
        "users",
        "add",
        "a@example.org",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="password1234\n",
    )
    assert weak.returncode == 1 and "too common" in weak.stderr
    bad_role = outcomes("users", "add", "a@example.org", "--role", "boss", env=env)
    assert bad_role.returncode == 1 and "Unknown role 'boss'" in bad_role.stderr


def test_a_malformed_setting_is_one_line_without_a_traceback() -> None:
    bad_setting = outcomes("db", "upgrade", env=cli_env("mysql://x/y"))
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.startswith("Error: OUTCOMES_DATABASE_URL is malformed")
    assert "Traceback" not in bad_setting.stderr


def test_an_unreachable_database_is_explained(tmp_path: Path) -> None:
    gone = outcomes("db", "upgrade", env=cli_env("postgresql+psycopg://x@127.0.0.1:1/db"))
    assert gone.returncode == 3
    assert "could not be reached" in gone.stderr and "Traceback" not in gone.stderr


def test_an_operator_can_rebuild_the_analysis_table(database_url: str) -> None:
    env = cli_env(database_url)
    assert outcomes("db", "upgrade", env=env).returncode == 0
    engine = make_engine(database_url)
    try:
        generate_demo(engine, learners=40, seed=3)
        with engine.begin() as conn:
            invitations = conn.execute(sa.text("SELECT count(*) FROM invitation")).scalar_one()
            conn.execute(sa.text("DELETE FROM analysis_row"))
    finally:
        engine.dispose()
    nothing_stale = outcomes("db", "refresh-analysis", env=env)
    assert nothing_stale.returncode == 0, nothing_stale.stderr
    assert "of 0 invitations" in nothing_stale.stdout
    rebuilt = outcomes("db", "refresh-analysis", "--full", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"of {invitations:,} invitations" in rebuilt.stdout


def test_an_operator_gives_a_manager_named_programmes_or_all_of_them(database_url: str) -> None:
    env = cli_env(database_url)
    assert outcomes("db", "upgrade", env=env).returncode == 0
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        factories.programme(session, "DA-101")
        factories.programme(session, "UX-201")

    def scope_of(email: str) -> set[int] | None:
        with session_scope(engine) as session:
            return programme_scope(session, user_by_email(session, email).id or 0)

    try:
        add = ("users", "add", "--role", "manager", "--sso-only")
        assert outcomes(*add, "m@example.org", "--programme", "UX-201", env=env).returncode == 0
        assert outcomes(*add, "all@example.org", "--all-programmes", env=env).returncode == 0
        assert outcomes(*add, "none@example.org", env=env).returncode == 0
        assert len(scope_of("m@example.org") or ()) == 1
        assert scope_of("all@example.org") is None
        assert scope_of("none@example.org") == set()
        widened = outcomes("users", "scope", "m@example.org", "--all-programmes", env=env)
        assert widened.returncode == 0, widened.stderr
        assert "every programme" in widened.stdout and scope_of("m@example.org") is None
        emptied = outcomes("users", "scope", "m@example.org", env=env)
        assert emptied.returncode == 0 and scope_of("m@example.org") == set()
    finally:
        engine.dispose()


def test_an_operator_unlocks_a_locked_account_from_the_command_line(database_url: str) -> None:
    from outcomes.access import auth
    from outcomes.access.staff import create_staff_user
    from outcomes.config import Settings
    from outcomes.store.engine import session_scope

    env = cli_env(database_url)
    assert outcomes("db", "upgrade", env=env).returncode == 0
    settings = Settings(secret_key=TEST_SECRET_KEY, signin_max_failures=2)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            create_staff_user(
                session,
                email="ana@example.org",
                role="admin",
                password="purple lantern over the harbour",
                actor="test",
                must_change_password=False,
            )
        for _ in range(2):
            with session_scope(engine) as session:
                auth.authenticate(
                    session, email="ana@example.org", password="wrong wrong", settings=settings
                )
        unlocked = outcomes("users", "unlock", "Ana@Example.org", env=env)
        assert unlocked.returncode == 0, unlocked.stderr
        assert unlocked.stdout.strip() == (
            "Unlocked ana@example.org; its failed sign-ins are forgotten."
        )
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT count(*) FROM signin_throttle WHERE scope = 'account'")
            )
            assert rows.scalar_one() == 0
            actions = conn.execute(sa.text("SELECT actor, action FROM audit_event")).all()
        assert [a.action for a in actions][-1] == "staff.unlocked"
        assert actions[-1].actor.startswith("cli:")
        with session_scope(engine) as session:
            result = auth.authenticate(
                session,
                email="ana@example.org",
                password="purple lantern over the harbour",
                settings=settings,
            )
        assert result.succeeded
    finally:
        engine.dispose()
    again = outcomes("users", "unlock", "ana@example.org", env=env)
    assert "Nothing was locked for ana@example.org" in again.stdout
    unknown = outcomes("users", "unlock", "who@example.org", env=env)
    assert unknown.returncode != 0 and "no staff user" in unknown.stderr
