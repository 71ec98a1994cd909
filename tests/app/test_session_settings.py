"""Session limits an operator sets, and single sign-on claims read from Streamlit's ``st.user``.

The SSO tests here set the identity on ``AppTest.user`` (what the app reads as ``st.user``)
and a configured ``[auth]`` section on ``AppTest.secrets``, so that the app's own
``webapp.sso_identity`` decides which claims count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access import sessions
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import StaffSessionRecord
from tests import factories
from tests.app.test_signin_sessions import APP, PASSWORD, Clock, _actions, _sign_in

AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-cookie-secret-for-tests-only-0123456789",
        "client_id": "outcomes-tests",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration",
    }
}


@pytest.fixture
def manager(app_engine: Engine) -> int:
    engine = app_engine
    with session_scope(engine) as session:
        user_id = factories.staff_user(
            session, "manager@example.org", role="manager", password=PASSWORD
        )
    engine.dispose()
    return user_id


def _fresh() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def _rows() -> list[tuple[str, str | None]]:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(StaffSessionRecord.via, StaffSessionRecord.end_reason).order_by(
                StaffSessionRecord.id
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- OUTCOMES_SESSION_IDLE_MINUTES and OUTCOMES_SESSION_MAX_HOURS ---------------------------


def test_a_shorter_idle_timeout_set_by_the_operator_signs_staff_out_sooner(
    manager: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SESSION_IDLE_MINUTES", "5")
    at = _sign_in(_fresh(), "manager@example.org", PASSWORD)
    assert at.session_state["staff"].user_id == manager
    clock.advance(minutes=4, seconds=59)
    at.run()
    assert "staff" in at.session_state
    clock.advance(minutes=5)  # far short of the default 30 minutes
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.IDLE_EXPIRED]
    assert _rows() == [("password", "idle")]
    assert ("signout", str(manager), {"reason": "idle"}) in _actions()


def test_a_longer_idle_timeout_set_by_the_operator_keeps_staff_signed_in(
    manager: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SESSION_IDLE_MINUTES", "90")
    at = _sign_in(_fresh(), "manager@example.org", PASSWORD)
    clock.advance(minutes=89)  # idle three times the default
    at.run()
    assert at.session_state["staff"].user_id == manager
    clock.advance(minutes=90)
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.IDLE_EXPIRED]


def test_a_shorter_absolute_lifetime_set_by_the_operator_ends_an_active_session(
    manager: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SESSION_MAX_HOURS", "2")
    at = _sign_in(_fresh(), "manager@example.org", PASSWORD)
    for _ in range(5):  # active every 20 minutes for 1 h 40 min
        clock.advance(minutes=20)
        at.run()
        assert "staff" in at.session_state
    clock.advance(minutes=19, seconds=59)
    at.run()
    assert "staff" in at.session_state
    clock.advance(seconds=1)  # two hours after signing in, far short of the default 12
    at.run()
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.LIFETIME_EXPIRED]
    assert _rows() == [("password", "lifetime")]
    assert ("signout", str(manager), {"reason": "lifetime"}) in _actions()


# --- single sign-on through st.user ---------------------------------------------------------


def _sso_browser(claims: dict[str, Any]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = AUTH_SECRETS  # type: ignore[assignment]
    at.user = {"is_logged_in": True, **claims}
    return at.run()


def _claims(clock: Clock, **extra: Any) -> dict[str, Any]:
    return {"email": "manager@example.org", "iat": clock.at.timestamp(), **extra}


def test_a_verified_sso_identity_in_st_user_signs_its_staff_member_in(
    manager: int, clock: Clock
) -> None:
    at = _sso_browser(_claims(clock, email_verified=True))
    assert not at.exception
    assert at.session_state["staff"].user_id == manager
    assert at.session_state["staff"].via == "sso"
    assert ("signin.succeeded", str(manager), {"via": "sso"}) in _actions()


def test_an_sso_identity_whose_email_is_not_verified_signs_nobody_in(
    manager: int, clock: Clock
) -> None:
    at = _sso_browser(_claims(clock, email_verified=False))
    assert not at.exception
    assert "staff" not in at.session_state
    assert _rows() == []
    assert not [a for a, _, _ in _actions() if a.startswith("signin.")]
    assert [t.label for t in at.text_input] == ["Email", "Password"]  # the form, as for anyone


@pytest.mark.parametrize(
    "claims",
    [
        {"is_logged_in": False, "email": "manager@example.org", "email_verified": True},
        {"email": "", "email_verified": True},
    ],
    ids=["signed-out", "no-email"],
)
def test_an_sso_identity_that_is_signed_out_or_has_no_email_signs_nobody_in(
    manager: int, clock: Clock, claims: dict[str, Any]
) -> None:
    at = _sso_browser({"iat": clock.at.timestamp(), **claims})
    assert not at.exception
    assert "staff" not in at.session_state
    assert _rows() == []


def test_an_sso_identity_older_than_a_shorter_lifetime_set_by_the_operator_is_refused(
    manager: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_SESSION_MAX_HOURS", "2")
    issued = clock.at - dt.timedelta(hours=2)
    at = _sso_browser({"email": "manager@example.org", "iat": issued.timestamp()})
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.SSO_EXPIRED]
    fresher = clock.at - dt.timedelta(hours=1, minutes=59)
    at = _sso_browser({"email": "manager@example.org", "iat": fresher.timestamp()})
    assert at.session_state["staff"].via == "sso"


def test_the_providers_authentication_time_in_st_user_bounds_a_reissued_identity(
    manager: int, clock: Clock
) -> None:
    signed_in = clock.at - dt.timedelta(hours=12)
    reissued = clock.at - dt.timedelta(minutes=5)
    at = _sso_browser(_claims(clock, iat=reissued.timestamp(), auth_time=signed_in.timestamp()))
    assert "staff" not in at.session_state
    assert [i.value for i in at.info] == [sessions.SSO_EXPIRED]
