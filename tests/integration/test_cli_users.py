"""``outcomes users``: an operator resets a password or second factor, or ends sessions; audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from outcomes.access.passwords import verify_password
from outcomes.access.staff_sessions import close_session, open_session
from outcomes.audit import verify_trail
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.migrate import upgrade
from outcomes.store.tables import AuditEvent, StaffRecoveryCode, StaffSessionRecord, StaffUser
from tests import factories
from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_cli import cli_env, outcomes

PASSWORD = "purple lantern over the harbour"
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated database with an administrator who has two open sessions and one ended."""
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)  # the same key as the command
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        user_id = factories.staff_user(session, "mo@example.org", password=PASSWORD)
        for _ in range(2):
            open_session(session, user_id=user_id, via="password", at=AT, settings=get_settings())
        old = open_session(session, user_id=user_id, via="password", at=AT, settings=get_settings())
        close_session(session, token=old, reason="user", at=AT, settings=get_settings())
    yield engine
    engine.dispose()


def _user(engine: Engine) -> StaffUser:
    with session_scope(engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.email == "mo@example.org")).one()
        session.expunge(user)
    return user


def _end_reasons(engine: Engine) -> list[str | None]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(StaffSessionRecord.end_reason).order_by(col(StaffSessionRecord.id))
            ).all()
        )


def _last_event(engine: Engine) -> AuditEvent:
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert event is not None
        assert verify_trail(session).broken is None  # chained like any other event
        session.expunge(event)
    return event


def _audited_by_the_operator(engine: Engine) -> tuple[str, str | None, dict | None]:
    """The last audit event's action, object and detail; its actor must be the operator."""
    event = _last_event(engine)
    assert event.actor.startswith("cli:")
    return event.action, event.object_id, event.detail


def _run(engine: Engine, *args: str) -> str:
    done = outcomes(*args, env=cli_env(engine.url.render_as_string(hide_password=False)))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_operator_resets_a_password_ending_every_session_and_the_trail_records_it(
    staff_db: Engine,
) -> None:
    before = _user(staff_db)
    printed = _run(staff_db, "users", "reset-password", "MO@example.org")
    temporary = printed.strip().splitlines()[-1]
    assert "Temporary password for mo@example.org" in printed
    after = _user(staff_db)
    assert verify_password(after.password_hash, temporary)
    assert not verify_password(after.password_hash, PASSWORD)
    assert after.must_change_password and not before.must_change_password
    assert _end_reasons(staff_db) == ["password_reset", "password_reset", "user"]
    assert _audited_by_the_operator(staff_db) == (
        "staff.password_reset",
        str(after.id),
        {"sessions_ended": 2},
    )
    with session_scope(staff_db) as session:
        trail = [e.model_dump_json() for e in session.exec(select(AuditEvent)).all()]
    assert trail and not [e for e in trail if temporary in e]  # never written down


def test_an_operator_ends_a_users_sessions_and_the_trail_counts_them(staff_db: Engine) -> None:
    printed = _run(staff_db, "users", "end-sessions", "mo@example.org")
    assert printed.strip() == "Ended 2 session(s) of mo@example.org."
    assert _end_reasons(staff_db) == ["ended_by_admin", "ended_by_admin", "user"]
    user = _user(staff_db)
    assert verify_password(user.password_hash, PASSWORD)  # nothing else changed
    assert _audited_by_the_operator(staff_db) == (
        "staff.sessions_ended",
        str(user.id),
        {"sessions": 2},
    )
    again = _run(staff_db, "users", "end-sessions", "mo@example.org")
    assert again.strip() == "Ended 0 session(s) of mo@example.org."


def test_an_operator_resets_a_second_factor_removing_its_recovery_codes_and_sessions(
    staff_db: Engine,
) -> None:
    with session_scope(staff_db) as session:
        user_id = _user(staff_db).id
        assert user_id is not None
        factories.second_factor(session, user_id)
    printed = _run(staff_db, "users", "reset-second-factor", "mo@example.org")
    assert "Removed the second factor of mo@example.org" in printed
    user = _user(staff_db)
    assert (user.totp_secret, user.totp_enabled_at, user.totp_last_step) == (None, None, None)
    with session_scope(staff_db) as session:
        assert session.exec(select(StaffRecoveryCode)).all() == []
    assert _end_reasons(staff_db) == ["second_factor_reset", "second_factor_reset", "user"]
    assert _audited_by_the_operator(staff_db) == (
        "staff.second_factor_reset",
        str(user_id),
        {"sessions_ended": 2},
    )


def test_an_unknown_email_is_one_line_on_stderr_and_changes_nothing(staff_db: Engine) -> None:
    before = _last_event(staff_db).id
    done = outcomes(
        "users",
        "reset-password",
        "nobody@example.org",
        env=cli_env(staff_db.url.render_as_string(hide_password=False)),
    )
    assert done.returncode == 1
    assert done.stderr == "Error: There is no staff user with the e-mail nobody@example.org.\n"
    assert done.stdout == ""
    assert _last_event(staff_db).id == before
    assert _end_reasons(staff_db) == [None, None, "user"]
