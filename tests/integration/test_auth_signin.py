"""Sign-in rules against the database: account lock, unknown e-mails, password rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes.access import auth
from outcomes.access.auth import SIGNIN_FAILED, SIGNIN_LOCKED, authenticate
from outcomes.access.staff import create_staff_user, unlock
from outcomes.audit import keyed_hash
from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, StaffUser, utcnow
from tests.conftest import TEST_SECRET_KEY

PASSWORD = "purple lantern over the harbour"
SETTINGS = Settings(secret_key=TEST_SECRET_KEY, signin_max_failures=3, signin_lock_minutes=10)


@pytest.fixture
def user_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        user = create_staff_user(
            session, email="ana@example.org", role="manager", password=PASSWORD, actor="test"
        )
    assert user.id is not None
    return user.id


def _attempt(engine: Engine, email: str, password: str) -> auth.SigninResult:
    with session_scope(engine) as session:
        return authenticate(session, email=email, password=password, settings=SETTINGS)


def test_an_account_locks_after_the_allowed_failures_and_unlocks(
    engine: Engine, user_id: int
) -> None:
    results = [_attempt(engine, "ana@example.org", "not it at all").refusal for _ in range(3)]
    assert results == [SIGNIN_FAILED, SIGNIN_FAILED, SIGNIN_LOCKED]
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None and user.locked_until is not None
        assert user.locked_until > utcnow() + dt.timedelta(minutes=9)
    assert _attempt(engine, "ana@example.org", PASSWORD).refusal == SIGNIN_LOCKED
    with session_scope(engine) as session:
        unlock(session, user_id=user_id, actor="cli:test")
    assert _attempt(engine, " ANA@example.org ", PASSWORD).user is not None


def test_the_lock_expires_by_itself(engine: Engine, user_id: int) -> None:
    for _ in range(3):
        _attempt(engine, "ana@example.org", "not it at all")
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        user.locked_until = utcnow() - dt.timedelta(seconds=1)
        session.add(user)
    assert _attempt(engine, "ana@example.org", PASSWORD).succeeded


def test_unknown_emails_get_the_same_answers_and_leave_only_a_keyed_hash(
    engine: Engine, user_id: int
) -> None:
    results = [_attempt(engine, "who@example.org", "not it at all").refusal for _ in range(3)]
    assert results == [SIGNIN_FAILED, SIGNIN_FAILED, SIGNIN_LOCKED]
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.failed")).all()
    assert {e.object_id for e in events} == {keyed_hash("who@example.org", TEST_SECRET_KEY)}
    assert all("who" not in repr(e.model_dump()) for e in events)


def test_unknown_emails_cost_one_argon2_verification_like_known_ones(
    engine: Engine, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str | None] = []
    real = auth.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    _attempt(engine, "who@example.org", "not it at all")
    _attempt(engine, "ana@example.org", "not it at all")
    assert len(checked) == 2
    assert all(h and h.startswith("$argon2id$") for h in checked)


def test_an_inactive_or_sso_only_account_cannot_sign_in_with_a_password(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_staff_user(
            session, email="sso@example.org", role="reviewer", password=None, actor="test"
        )
    assert _attempt(engine, "sso@example.org", "").refusal == SIGNIN_FAILED


@pytest.mark.parametrize(
    "password", ["short pass", "password1234", "ana@example.org", "aaaaaaaaaaaaaaaa"]
)
def test_weak_passwords_are_refused_when_creating_an_account(engine: Engine, password: str) -> None:
    with session_scope(engine) as session, pytest.raises(ValidationProblem):
        create_staff_user(
            session, email="ana@example.org", role="admin", password=password, actor="test"
        )


def test_a_long_passphrase_without_composition_rules_is_accepted(engine: Engine) -> None:
    with session_scope(engine) as session:
        user = create_staff_user(
            session,
            email="ana@example.org",
            role="admin",
            password="correct horse battery staple",
            actor="test",
        )
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
