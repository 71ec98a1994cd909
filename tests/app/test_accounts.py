"""Accounts in the app: whole-state sign-out, sessions ended elsewhere, TOTP sign-in, SSO expiry."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access import sessions, staff_sessions
from outcomes.access.staff import create_staff_user
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.web.context import MUST_CHANGE_PASSWORD
from tests import factories
from tests.app.test_signin_sessions import APP, PASSWORD, Clock, _sign_in

NEW = "seven quiet herons at dawn"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sessions, "now", fake)
    return fake


@pytest.fixture
def users(app_engine: Engine) -> dict[str, int]:
    with session_scope(app_engine) as session:
        ids = {}
        for name, role, temporary in (
            ("admin", "admin", False),
            ("manager", "manager", False),
            ("newcomer", "manager", True),
        ):
            user = create_staff_user(
                session,
                email=f"{name}@example.org",
                role=role,
                password=PASSWORD,
                actor="test",
                all_programmes=True,
                must_change_password=temporary,
            )
            ids[name] = user.id or 0
    return ids


def _engine():  # type: ignore[no-untyped-def]
    return make_engine(get_settings().database_url)


def _fresh() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def test_signing_out_clears_the_whole_session_state(users: dict[str, int], clock: Clock) -> None:
    at = _sign_in(_fresh(), "manager@example.org", PASSWORD)
    at.session_state["privacy_record"] = "Ana Ruiz <ana@example.org>"  # what a page leaves
    at.switch_page("pages/home.py").run()
    [sign_out] = [b for b in at.button if b.label == "Sign out"]
    sign_out.click().run()
    assert "staff" not in at.session_state
    assert "privacy_record" not in at.session_state


def test_an_administrator_ending_a_users_sessions_signs_them_out_on_the_next_rerun(
    users: dict[str, int], clock: Clock
) -> None:
    at = _sign_in(_fresh(), "manager@example.org", PASSWORD)
    assert at.session_state["staff"].user_id == users["manager"]
    engine = _engine()
    with session_scope(engine) as session:
        staff_sessions.end_sessions_by_admin(
            session, user_id=users["manager"], actor="staff:1", at=clock.at
        )
    engine.dispose()
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.END_NOTICES["ended_by_admin"]]


def test_a_temporary_password_reaches_only_the_account_page_until_changed(
    users: dict[str, int], clock: Clock
) -> None:
    at = _sign_in(_fresh(), "newcomer@example.org", PASSWORD)
    at.switch_page("pages/account.py").run()  # AppTest keeps the old page; a browser moves
    assert at.title[0].value == "Your account"
    assert [w.value for w in at.warning] == [MUST_CHANGE_PASSWORD]
    at.switch_page("pages/home.py").run()  # a typed URL: the guard refuses it
    assert not at.metric and [e.value for e in at.error] == ["You do not have access to Overview."]
    at.switch_page("pages/account.py").run()
    labels = [t.label for t in at.text_input]
    assert labels == ["New password", "Repeat the new password"]
    at.text_input[0].input(NEW)
    at.text_input[1].input(NEW)
    [change] = [b for b in at.button if b.label == "Change password"]
    change.click().run()
    at.switch_page("pages/home.py").run()  # the whole menu is back
    assert not at.error
    assert len(at.metric) == 8


def test_an_administrator_without_a_second_factor_enrols_before_anything_else(
    users: dict[str, int], clock: Clock
) -> None:
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    at.switch_page("pages/account.py").run()
    assert at.title[0].value == "Your account"
    at.switch_page("pages/users.py").run()
    assert [e.value for e in at.error] == ["You do not have access to Staff users."]
    at.switch_page("pages/account.py").run()
    [setup] = [b for b in at.button if b.label == "Set up a second factor"]
    setup.click().run()
    images = [e for e in at.main.children.values() if getattr(e, "type", "") == "image"]
    assert len(images) == 1  # the QR code
    secret = at.session_state["account_totp_enrolment"].secret
    [code] = [t for t in at.text_input if t.label == "Code from the app"]
    code.input("000000" if pyotp.TOTP(secret).at(clock.at) != "000000" else "111111")
    [turn_on] = [b for b in at.button if b.label == "Turn on the second factor"]
    turn_on.click().run()
    assert at.error and "not right" in at.error[0].value
    [code] = [t for t in at.text_input if t.label == "Code from the app"]
    code.input(pyotp.TOTP(secret).at(clock.at))
    [turn_on] = [b for b in at.button if b.label == "Turn on the second factor"]
    turn_on.click().run()
    assert len(at.session_state["account_recovery_codes"]) == 10
    at.switch_page("pages/users.py").run()
    assert not at.error


def test_a_second_factor_is_asked_for_before_the_session_starts(
    users: dict[str, int], clock: Clock
) -> None:
    engine = _engine()
    with session_scope(engine) as session:
        secret = factories.second_factor(session, users["admin"])
    engine.dispose()
    clock.at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)  # after the enrolment's step
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    assert "staff" not in at.session_state
    assert [t.label for t in at.text_input] == [
        "Code from your authenticator app, or a recovery code"
    ]
    at.text_input[0].input("12345").run()
    at.button[0].click().run()
    assert "staff" not in at.session_state and at.error
    code = pyotp.TOTP(secret).at(clock.at)
    at.text_input[0].input(code)
    at.button[0].click().run()
    assert at.session_state["staff"].user_id == users["admin"]
    [sign_out] = [
        b for b in at.switch_page("pages/account.py").run().button if b.label == "Sign out"
    ]
    sign_out.click().run()
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    at.text_input[0].input(code)  # the same code again: a replay
    at.button[0].click().run()
    assert "staff" not in at.session_state


def test_an_expired_sso_session_is_not_silently_recreated_but_a_fresh_identity_is_accepted(
    users: dict[str, int], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.web import context as webapp

    identity = {"value": webapp.SsoIdentity("manager@example.org", clock.at)}
    logouts: list[int] = []
    monkeypatch.setattr(webapp, "sso_configured", lambda: True)
    monkeypatch.setattr(webapp, "sso_identity", lambda: identity["value"])
    monkeypatch.setattr(webapp, "sso_sign_out", lambda: logouts.append(1))
    at = _fresh()
    assert at.session_state["staff"].via == "sso"
    clock.advance(minutes=31)
    at.run()
    assert "staff" not in at.session_state and logouts == [1]
    at.run()  # the same (old) identity cookie: no new session
    assert "staff" not in at.session_state
    assert "staff" not in _fresh().session_state  # nor in a new browser
    clock.advance(minutes=1)
    identity["value"] = webapp.SsoIdentity("manager@example.org", clock.at)  # signed in again
    at.run()
    assert at.session_state["staff"].via == "sso"
    stale = webapp.SsoIdentity("manager@example.org", clock.at - dt.timedelta(hours=13))
    identity["value"] = stale
    assert "staff" not in _fresh().session_state  # older than the absolute lifetime
