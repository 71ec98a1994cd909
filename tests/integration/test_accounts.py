"""Accounts: password change and reset, server-side sessions, the TOTP second factor."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy.engine import Engine

from outcomes.access import auth, mfa, staff_sessions
from outcomes.access.passwords import verify_password
from outcomes.access.staff import (
    change_password,
    create_staff_user,
    reset_password,
    use_temporary_password,
)
from outcomes.config import get_settings
from outcomes.errors import ValidationProblem
from outcomes.store.engine import session_scope
from outcomes.store.tables import StaffUser
from tests.conftest import TEST_SECRET_KEY

PASSWORD = "purple lantern over the harbour"
NEW = "seven quiet herons at dawn"
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)


def _user(engine: Engine, **kw: object) -> int:
    with session_scope(engine) as session:
        user = create_staff_user(
            session, email="ana@example.org", role="admin", password=PASSWORD, actor="t", **kw
        )
    assert user.id is not None
    return user.id


def _open(engine: Engine, user_id: int) -> str:
    with session_scope(engine) as session:
        return staff_sessions.open_session(
            session, user_id=user_id, via="password", at=AT, settings=get_settings()
        )


def _check(engine: Engine, token: str) -> staff_sessions.SessionCheck:
    with session_scope(engine) as session:
        return staff_sessions.check_session(session, token=token, at=AT, settings=get_settings())


def test_a_password_change_needs_the_current_one_follows_the_rules_and_ends_other_sessions(
    engine: Engine,
) -> None:
    user_id = _user(engine, must_change_password=False)
    this, other = _open(engine, user_id), _open(engine, user_id)
    with session_scope(engine) as session:
        with pytest.raises(ValidationProblem, match="current password is not right"):
            change_password(
                session,
                user_id=user_id,
                current="wrong",
                new=NEW,
                keep_token=this,
                settings=get_settings(),
            )
        with pytest.raises(ValidationProblem, match="at least 12"):
            change_password(
                session,
                user_id=user_id,
                current=PASSWORD,
                new="short",
                keep_token=this,
                settings=get_settings(),
            )
    with session_scope(engine) as session:
        ended = change_password(
            session,
            user_id=user_id,
            current=PASSWORD,
            new=NEW,
            keep_token=this,
            at=AT,
            settings=get_settings(),
        )
        user = session.get(StaffUser, user_id)
        assert user is not None and verify_password(user.password_hash, NEW)
    assert ended == 1
    assert _check(engine, this).user is not None
    assert _check(engine, other) == staff_sessions.SessionCheck(None, "password_changed")


def test_an_issued_password_is_generated_ends_all_sessions_and_works_for_one_sign_in(
    engine: Engine,
) -> None:
    user_id = _user(engine, must_change_password=False)
    token = _open(engine, user_id)
    with session_scope(engine) as session:
        temporary = reset_password(
            session, user_id=user_id, actor="staff:999", at=AT, settings=get_settings()
        )
    assert temporary != PASSWORD and len(temporary) >= 12
    assert _check(engine, token).end_reason == "password_reset"
    with session_scope(engine) as session:
        result = auth.authenticate(
            session, email="ana@example.org", password=temporary, settings=get_settings()
        )
        assert result.user is not None and result.user.must_change_password
        use_temporary_password(session, result.user)  # what starting the session does
    with session_scope(engine) as session:
        again = auth.authenticate(
            session, email="ana@example.org", password=temporary, settings=get_settings()
        )
    assert again.user is None


def test_a_typed_initial_password_is_temporary_unless_said_otherwise(engine: Engine) -> None:
    with session_scope(engine) as session:
        typed = create_staff_user(
            session, email="a@example.org", role="manager", password=PASSWORD, actor="t"
        )
        sso = create_staff_user(
            session, email="b@example.org", role="manager", password=None, actor="t"
        )
        demo = create_staff_user(
            session,
            email="c@example.org",
            role="manager",
            password=PASSWORD,
            actor="t",
            must_change_password=False,
        )
    assert (typed.must_change_password, sso.must_change_password, demo.must_change_password) == (
        True,
        False,
        False,
    )


def test_an_administrator_ending_sessions_ends_every_open_one_and_is_audited(
    engine: Engine,
) -> None:
    user_id = _user(engine)
    tokens = [_open(engine, user_id) for _ in range(2)]
    with session_scope(engine) as session:
        assert (
            staff_sessions.end_sessions_by_admin(session, user_id=user_id, actor="cli:x", at=AT)
            == 2
        )
        assert staff_sessions.last_ended_at(session, user_id) == AT
    assert {_check(engine, t).end_reason for t in tokens} == {"ended_by_admin"}
    assert _check(engine, "not-a-token").user is None


def test_the_totp_secret_is_stored_encrypted_and_bound_to_its_user(engine: Engine) -> None:
    user_id = _user(engine)
    with session_scope(engine) as session:
        enrolment = mfa.begin_enrolment(session, user_id=user_id, settings=get_settings())
        user = session.get(StaffUser, user_id)
        assert user is not None and user.totp_secret is not None
        stored = user.totp_secret
    assert enrolment.secret not in stored and enrolment.qr_png.startswith(b"\x89PNG")
    assert mfa.decrypt_secret(stored, user_id=user_id, settings=get_settings()) == enrolment.secret
    with pytest.raises(ValidationProblem, match="stored second factor cannot be read"):
        mfa.decrypt_secret(stored, user_id=user_id + 1, settings=get_settings())


def test_a_wrong_code_does_not_enable_the_second_factor_and_a_replayed_code_is_refused(
    engine: Engine,
) -> None:
    user_id = _user(engine)
    with session_scope(engine) as session:
        enrolment = mfa.begin_enrolment(session, user_id=user_id, settings=get_settings())
    totp = pyotp.TOTP(enrolment.secret)
    wrong = "000000" if totp.at(AT) != "000000" else "111111"
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match="not right"):
        mfa.confirm_enrolment(session, user_id=user_id, code=wrong, at=AT, settings=get_settings())
    with session_scope(engine) as session:
        codes = mfa.confirm_enrolment(
            session, user_id=user_id, code=totp.at(AT), at=AT, settings=get_settings()
        )
    assert len(set(codes)) == 10
    later = AT + dt.timedelta(seconds=60)
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        assert not mfa.verify_second_factor(
            session, user=user, code=totp.at(AT), at=AT, settings=get_settings()
        )  # replay
        assert mfa.verify_second_factor(
            session, user=user, code=totp.at(later), at=later, settings=get_settings()
        )
        assert not mfa.verify_second_factor(
            session, user=user, code=totp.at(later), at=later, settings=get_settings()
        )
        assert mfa.verify_second_factor(
            session, user=user, code=codes[0].lower(), at=later, settings=get_settings()
        )
        assert not mfa.verify_second_factor(
            session, user=user, code=codes[0], at=later, settings=get_settings()
        )
        assert mfa.recovery_codes_left(session, user_id) == 9
