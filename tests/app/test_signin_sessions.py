"""Sign-in through the form: throttles, idle timeout, absolute lifetime, sign-out, SSO."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access import sessions
from outcomes.access.auth import (
    ADDRESS_THROTTLED,
    NOT_AN_EMAIL,
    SIGNIN_FAILED,
    SIGNIN_LOCKED,
    SSO_REFUSED,
)
from outcomes.access.staff import create_staff_user, set_active
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import AuditEvent
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
PASSWORD = "purple lantern over the harbour"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sessions, "now", fake)
    return fake


@pytest.fixture
def admin(app_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> int:
    # Sessions by password alone: the second factor has tests of its own (test_accounts.py).
    monkeypatch.setenv("OUTCOMES_ADMIN_TOTP", "optional")
    with session_scope(app_engine) as session:
        user = create_staff_user(
            session,
            email="admin@example.org",
            role="admin",
            password=PASSWORD,
            actor="test",
            must_change_password=False,
        )
    assert user.id is not None
    return user.id


def _actions() -> list[tuple[str, str | None, dict | None]]:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_id, AuditEvent.detail).order_by(
                AuditEvent.id
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _sign_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def _fresh() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def test_many_emails_from_one_address_are_throttled_across_browser_sessions(
    admin: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SIGNIN_IP_MAX_FAILURES", "5")
    messages = []
    for attempt in range(5):  # unknown e-mails, a new browser each time: the address counts
        at = _sign_in(_fresh(), f"nobody{attempt}@example.org", "wrong wrong wrong")
        messages.append(at.error[0].value)
    assert messages == [SIGNIN_FAILED] * 4 + [ADDRESS_THROTTLED]
    _sign_in(at, "admin@example.org", PASSWORD)
    assert [e.value for e in at.error] == [ADDRESS_THROTTLED]
    assert "staff" not in at.session_state
    clock.advance(minutes=15)
    _sign_in(at, "admin@example.org", PASSWORD)
    assert at.session_state["staff"].user_id == admin


def test_an_account_is_locked_for_every_browser_after_repeated_failures(
    admin: int, clock: Clock
) -> None:
    for _ in range(5):  # a new browser session each time: the account's counter applies
        at = _sign_in(_fresh(), "admin@example.org", "wrong wrong wrong")
    assert [e.value for e in at.error] == [SIGNIN_LOCKED]
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    assert [e.value for e in at.error] == [SIGNIN_LOCKED]
    actions = [a for a, _, _ in _actions()]
    assert actions.count("signin.failed") == 5
    assert "signin.locked" in actions and "signin.refused_locked" in actions
    clock.advance(minutes=15)
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    assert at.session_state["staff"].user_id == admin


def test_text_that_is_not_an_email_is_refused_plainly_and_not_recorded(
    admin: int, clock: Clock
) -> None:
    before = _actions()
    at = _sign_in(_fresh(), "admin", PASSWORD)
    assert [e.value for e in at.error] == [NOT_AN_EMAIL]
    assert _actions() == before


def test_an_idle_session_is_signed_out_on_the_next_rerun(admin: int, clock: Clock) -> None:
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    assert at.session_state["staff"].user_id == admin
    clock.advance(minutes=29)
    at.run()
    assert "staff" in at.session_state  # activity resets the idle timer
    clock.advance(minutes=29)
    at.run()
    assert "staff" in at.session_state
    clock.advance(minutes=30)
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.IDLE_EXPIRED]
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert ("signout", str(admin), {"reason": "idle"}) in _actions()


def test_a_session_ends_after_its_absolute_lifetime_despite_activity(
    admin: int, clock: Clock
) -> None:
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    for _ in range(12 * 3 - 1):  # active every 20 minutes for just under 12 hours
        clock.advance(minutes=20)
        at.run()
        assert "staff" in at.session_state
    clock.advance(minutes=20)
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.LIFETIME_EXPIRED]
    assert ("signout", str(admin), {"reason": "lifetime"}) in _actions()


def test_signing_out_returns_to_the_sign_in_form_and_is_audited(admin: int, clock: Clock) -> None:
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    at.switch_page("pages/home.py")
    at.run()
    [sign_out] = [b for b in at.button if b.label == "Sign out"]
    sign_out.click().run()
    assert "staff" not in at.session_state
    at.switch_page("pages/signin.py")  # AppTest keeps the old page; a browser goes to the default
    at.run()
    assert [t.label for t in at.text_input] == ["Email", "Password"]
    assert ("signout", str(admin), {"reason": "user"}) in _actions()


def test_a_deactivated_account_is_signed_out_on_the_next_rerun(admin: int, clock: Clock) -> None:
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        set_active(session, user_id=admin, active=False, actor="cli:test")
    engine.dispose()
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.ACCOUNT_CHANGED]


@pytest.mark.parametrize("known", [True, False])
def test_single_sign_on_maps_a_verified_email_to_a_staff_account(
    admin: int, clock: Clock, monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    from outcomes.web import context as webapp

    email = "Admin@Example.org" if known else "stranger@example.org"
    monkeypatch.setattr(webapp, "sso_configured", lambda: True)
    monkeypatch.setattr(webapp, "sso_identity", lambda: webapp.SsoIdentity(email, clock.at))
    at = _fresh()
    assert not at.exception
    if known:
        assert at.session_state["staff"].user_id == admin
        assert at.session_state["staff"].via == "sso"
        assert ("signin.succeeded", str(admin), {"via": "sso"}) in _actions()
    else:
        assert "staff" not in at.session_state
        assert [i.value for i in at.info] == [SSO_REFUSED]
        refused = [(a, o) for a, o, _ in _actions() if a == "signin.sso_refused"]
        assert len(refused) == 1 and "stranger" not in str(refused)
        at.run()  # not audited again on every rerun
        assert len([a for a, _, _ in _actions() if a == "signin.sso_refused"]) == 1


def test_single_sign_on_refuses_an_inactive_account(
    admin: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.web import context as webapp

    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        set_active(session, user_id=admin, active=False, actor="cli:test")
    engine.dispose()
    monkeypatch.setattr(webapp, "sso_configured", lambda: True)
    monkeypatch.setattr(
        webapp, "sso_identity", lambda: webapp.SsoIdentity("admin@example.org", clock.at)
    )
    at = _fresh()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [SSO_REFUSED]
