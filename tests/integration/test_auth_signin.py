"""Sign-in against the database: one throttle for every e-mail, per address, global; demo."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outcomes.access import auth, throttle
from outcomes.access.auth import (
    ADDRESS_THROTTLED,
    DEMO_REFUSED,
    NOT_AN_EMAIL,
    SECOND_FACTOR_FAILED,
    SIGNIN_FAILED,
    SIGNIN_LOCKED,
    SIGNIN_PAUSED,
    SSO_REFUSED,
    authenticate,
)
from outcomes.access.staff import create_staff_user, reset_password, staff_frame, unlock
from outcomes.config import Settings, get_settings
from outcomes.errors import ValidationProblem
from outcomes.keys import Purpose, labelled_hmac_hex
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, SigninThrottle, StaffUser
from tests import factories
from tests.conftest import TEST_SECRET_KEY

PASSWORD = "purple lantern over the harbour"
WRONG = "not it at all, not at all"
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SETTINGS = Settings(secret_key=TEST_SECRET_KEY, signin_max_failures=3, signin_lock_minutes=10)


def _staff(engine: Engine, email: str, role: str, *, is_demo: bool = False) -> int:
    with session_scope(engine) as session:
        user = create_staff_user(
            session,
            email=email,
            role=role,
            password=PASSWORD,
            actor="test",
            must_change_password=False,
        )
        user.is_demo = is_demo
        session.add(user)
    assert user.id is not None
    return user.id


@pytest.fixture
def user_id(engine: Engine) -> int:
    return _staff(engine, "ana@example.org", "manager")


def _attempt(
    engine: Engine,
    email: str,
    password: str,
    at: dt.datetime = AT,
    *,
    client: str | None = "192.0.2.10",
    settings: Settings = SETTINGS,
) -> auth.SigninResult:
    with session_scope(engine) as session:
        return authenticate(
            session, email=email, password=password, settings=settings, client=client, at=at
        )


def _refusal(result: auth.SigninResult) -> str:
    return "signed in" if result.succeeded else str(result.refusal)


def _account_row(engine: Engine, email: str) -> SigninThrottle | None:
    key = throttle.account_key(SETTINGS, email)
    with Session(engine) as session:
        return session.get(SigninThrottle, ("account", key))


def _actions(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


def test_an_account_locks_for_exactly_the_lock_minutes_then_opens_by_itself(
    engine: Engine, user_id: int
) -> None:
    results = [_refusal(_attempt(engine, "ana@example.org", WRONG, AT)) for _ in range(3)]
    assert results == [SIGNIN_FAILED, SIGNIN_FAILED, SIGNIN_LOCKED]
    row = _account_row(engine, "ana@example.org")
    assert row is not None and row.locked_until is not None
    # A tolerance of a second: a lock 100 times too long (or short) fails.
    assert abs(row.locked_until - (AT + 10 * MINUTE)) <= dt.timedelta(seconds=1)
    with Session(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None and user.locked_until == row.locked_until  # shown to admins
        assert staff_frame(session, at=AT + 5 * MINUTE)["locked until"].notna().all()
        assert staff_frame(session, at=AT + 10 * MINUTE)["locked until"].isna().all()
    assert _refusal(_attempt(engine, "ana@example.org", PASSWORD, AT + 9 * MINUTE)) == (
        SIGNIN_LOCKED
    )
    assert _attempt(engine, " ANA@example.org ", PASSWORD, AT + 10 * MINUTE).succeeded
    assert _account_row(engine, "ana@example.org") is None  # success forgets the failures
    assert _actions(engine).count("signin.locked") == 1
    assert "signin.refused_locked" in _actions(engine)


# Minutes after AT, and whether the attempt uses the account's right password: the same
# sequence for a real account and for an unknown e-mail (whose "right" password is just
# another wrong one) must give the same answers.
SEQUENCE = [(0, False), (1, False), (2, False), (5, True), (12, False), (13, True), (40, False)]


def _run(engine: Engine, email: str, client: str) -> list[str]:
    return [
        _refusal(
            _attempt(engine, email, PASSWORD if right else WRONG, AT + m * MINUTE, client=client)
        )
        for m, right in SEQUENCE
        if not right
    ]


def test_known_and_unknown_emails_get_identical_answers_after_the_same_sequence(
    engine: Engine, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    known = _run(engine, "ana@example.org", "192.0.2.1")
    known_work = len(checked)
    unknown = _run(engine, "who@example.org", "192.0.2.2")
    assert (
        known
        == unknown
        == [
            SIGNIN_FAILED,
            SIGNIN_FAILED,
            SIGNIN_LOCKED,  # the third failure locks for 10 minutes
            SIGNIN_LOCKED,  # 12 minutes: the lock ended, but a failure within the memory relocks
            SIGNIN_FAILED,  # 40 minutes: quiet for a window after the lock, so forgotten
        ]
    )
    # One Argon2 verification per checked attempt, for the known and the unknown e-mail.
    assert known_work == len(checked) - known_work == 5
    assert all(h.startswith("$argon2id$") for h in checked)


def test_the_right_password_during_a_lock_gets_the_lock_sentence_for_both_kinds_of_email(
    engine: Engine, user_id: int
) -> None:
    for email, client in (("ana@example.org", "192.0.2.1"), ("who@example.org", "192.0.2.2")):
        for _ in range(3):
            _attempt(engine, email, WRONG, client=client)
        assert _refusal(_attempt(engine, email, PASSWORD, AT + MINUTE, client=client)) == (
            SIGNIN_LOCKED
        )
    with Session(engine) as session:
        rows = session.exec(select(SigninThrottle).where(SigninThrottle.scope == "account")).all()
    assert len(rows) == 2
    assert {r.locked_until for r in rows} == {AT + 10 * MINUTE}


def test_many_emails_from_one_address_are_throttled_and_another_address_is_not(
    engine: Engine, user_id: int
) -> None:
    settings = SETTINGS.model_copy(update={"signin_ip_max_failures": 4})
    results = [
        _refusal(
            _attempt(engine, f"x{i}@example.org", WRONG, settings=settings, client="192.0.2.5")
        )
        for i in range(5)
    ]
    assert results == [SIGNIN_FAILED] * 3 + [ADDRESS_THROTTLED] * 2
    # Even the right password is not checked from the throttled address ...
    at = AT + MINUTE
    throttled = _attempt(
        engine, "ana@example.org", PASSWORD, at, client="192.0.2.5", settings=settings
    )
    assert _refusal(throttled) == ADDRESS_THROTTLED
    # ... while another address signs in, and a failure there is an ordinary one.
    assert _attempt(engine, "ana@example.org", PASSWORD, at, client="198.51.100.7").succeeded
    assert _refusal(_attempt(engine, "y@example.org", WRONG, at, client="198.51.100.7")) == (
        SIGNIN_FAILED
    )
    with Session(engine) as session:
        locks = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.locked")).all()
    assert [(e.object_type, (e.detail or {})["scope"]) for e in locks] == [("client_address", "ip")]
    assert "192.0.2.5" not in repr([e.model_dump() for e in locks])


def test_an_address_lock_grows_with_each_failure_after_it_ends(engine: Engine) -> None:
    settings = SETTINGS.model_copy(update={"signin_ip_max_failures": 2})
    at, waits = AT, []
    for i in range(5):
        _attempt(engine, f"x{i}@example.org", WRONG, at, settings=settings)
        with Session(engine) as session:
            key = throttle.keys_for(settings, address="x@example.org", client="192.0.2.10").ip
            row = session.get(SigninThrottle, ("ip", key))
        assert row is not None
        if row.locked_until is not None:
            waits.append(row.locked_until - at)
            at = row.locked_until
    assert waits == [10 * MINUTE, 20 * MINUTE, 40 * MINUTE, 80 * MINUTE]


def test_the_global_brake_pauses_everyone_briefly_and_the_pause_grows(engine: Engine) -> None:
    settings = SETTINGS.model_copy(update={"signin_global_max_failures": 4})

    def attempt(i: int, at: dt.datetime) -> str:
        client = f"198.51.100.{i}"  # a different address and e-mail every time
        return _refusal(
            _attempt(engine, f"x{i}@example.org", WRONG, at, client=client, settings=settings)
        )

    assert [attempt(i, AT) for i in range(4)] == [SIGNIN_FAILED] * 3 + [SIGNIN_PAUSED]
    second = dt.timedelta(seconds=1)
    assert attempt(10, AT + second) == SIGNIN_PAUSED
    assert attempt(11, AT + 2 * second) == SIGNIN_PAUSED  # counted: a pause of 4 seconds
    assert attempt(12, AT + 5 * second) == SIGNIN_PAUSED
    assert attempt(13, AT + 6 * second) == SIGNIN_PAUSED  # counted: 8 seconds
    with Session(engine) as session:
        row = session.get(SigninThrottle, ("global", "*"))
    assert row is not None and row.locked_until == AT + 14 * second


def test_unlocking_lifts_the_lock_and_forgets_the_failures(engine: Engine, user_id: int) -> None:
    for _ in range(3):
        _attempt(engine, "ana@example.org", WRONG)
    with session_scope(engine) as session:
        unlock(session, user_id=user_id, actor="cli:test", settings=SETTINGS)
    assert _account_row(engine, "ana@example.org") is None
    with Session(engine) as session:
        user = session.get(StaffUser, user_id)
        assert user is not None and user.locked_until is None
    assert _attempt(engine, "ana@example.org", PASSWORD, AT + MINUTE).succeeded
    assert "staff.unlocked" in _actions(engine)


def test_a_password_reset_lifts_the_lock_so_the_temporary_password_works(
    engine: Engine, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)
    for _ in range(3):
        _attempt(engine, "ana@example.org", WRONG)
    with session_scope(engine) as session:
        temporary = reset_password(
            session, user_id=user_id, actor="cli:test", at=AT, settings=get_settings()
        )
    assert _account_row(engine, "ana@example.org") is None
    assert _attempt(engine, "ana@example.org", temporary, AT + MINUTE).succeeded


def test_concurrent_failures_are_all_counted(engine: Engine) -> None:
    settings = SETTINGS.model_copy(update={"signin_max_failures": 100})

    def fail(i: int) -> str:
        client = f"198.51.100.{i}"
        return _refusal(
            _attempt(engine, "who@example.org", WRONG, client=client, settings=settings)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(fail, range(8))) == [SIGNIN_FAILED] * 8
    row = _account_row(engine, "who@example.org")
    with Session(engine) as session:
        global_row = session.get(SigninThrottle, ("global", "*"))
    assert row is not None and row.failures == 8
    assert global_row is not None and global_row.failures == 8


@pytest.mark.parametrize(
    "typed", ["", "   ", "ana", "robert'); DROP TABLE staff_user;--", "a@b", "x" * 400 + "@e.org"]
)
def test_input_not_shaped_like_an_email_is_refused_before_anything_is_hashed_or_recorded(
    engine: Engine, typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hashing(*_: object) -> bool:
        raise AssertionError("a password was checked")

    monkeypatch.setattr(auth, "verify_password", no_hashing)
    assert _attempt(engine, typed, WRONG).refusal == NOT_AN_EMAIL
    with Session(engine) as session:
        assert session.exec(select(AuditEvent)).all() == []
        assert session.exec(select(SigninThrottle)).all() == []


def test_the_audit_trail_links_an_unknown_email_by_a_labelled_hmac_not_a_raw_key_hmac(
    engine: Engine,
) -> None:
    _attempt(engine, "Who@Example.org", WRONG)
    with session_scope(engine) as session:
        auth.authenticate_sso(session, email="who@example.org", settings=SETTINGS)
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(
                sa.or_(
                    AuditEvent.action == "signin.failed", AuditEvent.action == "signin.sso_refused"
                )
            )
        ).all()
    raw = hmac.new(TEST_SECRET_KEY.encode(), b"who@example.org", hashlib.sha256).hexdigest()
    labelled = labelled_hmac_hex(TEST_SECRET_KEY, Purpose.AUDIT_HASH, "who@example.org")
    assert [e.object_id for e in events] == [labelled, labelled]
    assert raw not in {e.object_id for e in events}
    assert all("who" not in repr(e.model_dump()).lower() for e in events)


def _demo_account(engine: Engine) -> int:
    return _staff(engine, "demo-admin@example.org", "admin", is_demo=True)


def test_demo_accounts_are_refused_outside_demo_mode_by_password_and_sso(engine: Engine) -> None:
    demo_id = _demo_account(engine)
    assert _attempt(engine, "demo-admin@example.org", PASSWORD).refusal == DEMO_REFUSED
    with session_scope(engine) as session:
        sso = auth.authenticate_sso(session, email="demo-admin@example.org", settings=SETTINGS)
    assert sso.refusal == DEMO_REFUSED
    with Session(engine) as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == "signin.refused_demo")
        ).all()
    assert [(e.object_id, e.detail) for e in refused] == [
        (str(demo_id), {"via": "password"}),
        (str(demo_id), {"via": "sso"}),
    ]
    assert "signin.succeeded" not in _actions(engine)


def test_demo_accounts_sign_in_in_demo_mode(engine: Engine) -> None:
    _demo_account(engine)
    demo = SETTINGS.model_copy(update={"demo": True})
    assert _attempt(engine, "demo-admin@example.org", PASSWORD, settings=demo).succeeded
    with session_scope(engine) as session:
        assert auth.authenticate_sso(
            session, email="demo-admin@example.org", settings=demo
        ).succeeded


def test_single_sign_on_is_not_locked_when_password_sign_in_is(
    engine: Engine, user_id: int
) -> None:
    for _ in range(3):
        _attempt(engine, "ana@example.org", WRONG)
    with session_scope(engine) as session:
        result = auth.authenticate_sso(session, email="ana@example.org", settings=SETTINGS, at=AT)
        refused = auth.authenticate_sso(session, email="not an e-mail", settings=SETTINGS)
    assert result.succeeded and refused.refusal == SSO_REFUSED
    assert _account_row(engine, "ana@example.org") is None


def test_wrong_second_factor_codes_count_on_the_same_counter_as_wrong_passwords(
    engine: Engine, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SECRET_KEY", TEST_SECRET_KEY)  # enrolment reads the settings
    with session_scope(engine) as session:
        secret = factories.second_factor(session, user_id)
    later = AT.replace(year=2030)  # after the enrolment's step
    password = _attempt(engine, "ana@example.org", PASSWORD, later)
    assert password.user is not None and password.second_factor
    assert _account_row(engine, "ana@example.org") is None

    def code(value: str, at: dt.datetime = later) -> str:
        with session_scope(engine) as session:
            return _refusal(
                auth.check_second_factor(
                    session,
                    user_id=user_id,
                    code=value,
                    settings=SETTINGS,
                    client="192.0.2.10",
                    at=at,
                )
            )

    assert code("000000") == SECOND_FACTOR_FAILED
    assert _refusal(_attempt(engine, "ana@example.org", WRONG, later)) == SIGNIN_FAILED
    # A right password does not reset the count: only a finished sign-in does.
    assert _attempt(engine, "ana@example.org", PASSWORD, later).second_factor
    assert code("111111") == SIGNIN_LOCKED
    right = pyotp.TOTP(secret).at(later)
    assert code(right) == SIGNIN_LOCKED  # not even checked while locked
    after = later + 10 * MINUTE
    assert code(pyotp.TOTP(secret).at(after), after) == "signed in"
    assert _account_row(engine, "ana@example.org") is None
    actions = _actions(engine)
    assert actions.count("signin.second_factor_failed") == 2
    assert actions[-2:] == ["signin.second_factor_passed", "signin.succeeded"]


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
    with session_scope(engine) as session, pytest.raises(ValidationProblem, match=r"."):
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
