"""Account changes that sign a user out: who may make them, what they record, what they refuse."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from outcomes.access import mfa, staff_sessions
from outcomes.access.passwords import verify_password
from outcomes.access.staff import (
    change_password,
    create_staff_user,
    reset_password,
    reset_second_factor,
    use_temporary_password,
)
from outcomes.config import get_settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, StaffUser
from tests import factories
from tests.integration.test_accounts import (
    AT,
    NEW,
    PASSWORD,
    _open,
    _secret,  # noqa: F401  (autouse: the secret key)
)
from tests.integration.test_accounts import _user as _account


def _user(engine: Engine, *, temporary: bool = False) -> int:
    return _account(engine, must_change_password=temporary)


def _last(engine: Engine) -> tuple[str, str, str | None, dict | None]:
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert event is not None
        return event.actor, event.action, event.object_id, event.detail


def test_a_password_change_is_recorded_with_the_user_as_actor_and_the_sessions_it_ended(
    engine: Engine,
) -> None:
    user_id = _user(engine)
    this = _open(engine, user_id)
    for _ in range(2):
        _open(engine, user_id)
    with session_scope(engine) as session:
        change_password(
            session,
            user_id=user_id,
            current=PASSWORD,
            new=NEW,
            keep_token=this,
            at=AT,
            settings=get_settings(),
        )
    assert _last(engine) == (
        f"staff:{user_id}",
        "staff.password_changed",
        str(user_id),
        {"other_sessions_ended": 2},
    )


def test_a_new_password_must_differ_and_an_sso_only_account_has_none_to_change(
    engine: Engine,
) -> None:
    user_id = _user(engine)
    with session_scope(engine) as session:
        sso = create_staff_user(
            session, email="sso@example.org", role="manager", password=None, actor="t"
        )
    assert sso.id is not None
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match="must differ"):
        change_password(
            session,
            user_id=user_id,
            current=PASSWORD,
            new=PASSWORD,
            keep_token=None,
            settings=get_settings(),
        )
    only_sso = pytest.raises(ValidationProblem, match="single sign-on only")
    with session_scope(engine) as session, only_sso:
        change_password(
            session, user_id=sso.id, current="", new=NEW, keep_token=None, settings=get_settings()
        )


def test_after_a_temporary_password_the_new_one_needs_no_current_password(
    engine: Engine,
) -> None:
    user_id = _user(engine, temporary=True)
    this = _open(engine, user_id)
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        use_temporary_password(session, user)  # spent at this session's sign-in
    with session_scope(engine) as session:
        change_password(
            session,
            user_id=user_id,
            current="",
            new=NEW,
            keep_token=this,
            at=AT,
            settings=get_settings(),
        )
        user = session.get(StaffUser, user_id)
        assert user is not None
        assert verify_password(user.password_hash, NEW) and not user.must_change_password
        assert user.password_changed_at is not None


def test_a_temporary_password_is_spent_only_when_it_is_one(engine: Engine) -> None:
    user_id = _user(engine)
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        use_temporary_password(session, user)
    with session_scope(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None and verify_password(user.password_hash, PASSWORD)


def test_an_administrator_cannot_reset_their_own_password_or_second_factor(
    engine: Engine,
) -> None:
    user_id = _user(engine)
    own = f"staff:{user_id}"
    own_password = pytest.raises(ValidationProblem, match="cannot reset your own password")
    with session_scope(engine) as session, own_password:
        reset_password(session, user_id=user_id, actor=own, at=AT, settings=get_settings())
    own_factor = pytest.raises(ValidationProblem, match="cannot reset your own second factor")
    with session_scope(engine) as session, own_factor:
        reset_second_factor(session, user_id=user_id, actor=own, at=AT)
    assert _last(engine)[1] == "staff.created"


def test_changes_to_an_unknown_account_are_refused(engine: Engine) -> None:
    for change in (
        lambda s: reset_password(s, user_id=999, actor="cli:x", at=AT, settings=get_settings()),
        lambda s: reset_second_factor(s, user_id=999, actor="cli:x", at=AT),
        lambda s: staff_sessions.end_sessions_by_admin(s, user_id=999, actor="cli:x", at=AT),
    ):
        with session_scope(engine) as session, pytest.raises(NotFound, match="id 999"):
            change(session)


def test_after_a_second_factor_reset_the_user_can_enrol_again(engine: Engine) -> None:
    user_id = _user(engine)
    token = _open(engine, user_id)
    with session_scope(engine) as session:
        factories.second_factor(session, user_id)
    with session_scope(engine) as session:
        again = pytest.raises(ValidationProblem, match="already set up")
        with again:
            mfa.begin_enrolment(session, user_id=user_id, settings=get_settings())
    with session_scope(engine) as session:
        reset_second_factor(session, user_id=user_id, actor="staff:999", at=AT)
    assert _last(engine) == (
        "staff:999",
        "staff.second_factor_reset",
        str(user_id),
        {"sessions_ended": 1},
    )
    with session_scope(engine) as session:
        check = staff_sessions.check_session(session, token=token, at=AT, settings=get_settings())
        assert check.end_reason == "second_factor_reset"
        user = session.get(StaffUser, user_id)
        assert user is not None and not mfa.has_second_factor(user)
        assert mfa.recovery_codes_left(session, user_id) == 0
        enrolment = mfa.begin_enrolment(session, user_id=user_id, settings=get_settings())
    with session_scope(engine) as session:
        codes = mfa.confirm_enrolment(
            session,
            user_id=user_id,
            code=pyotp.TOTP(enrolment.secret).at(AT),
            at=AT,
            settings=get_settings(),
        )
    assert len(codes) == mfa.RECOVERY_CODES


def test_a_code_cannot_confirm_an_enrolment_that_was_never_begun(engine: Engine) -> None:
    user_id = _user(engine)
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match="again"):
        mfa.confirm_enrolment(
            session, user_id=user_id, code="123456", at=AT, settings=get_settings()
        )
