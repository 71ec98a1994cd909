"""The outbox page: in demo mode, the messages that would have been sent, with working links."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import create_staff_user
from outcomes.store.engine import session_scope
from outcomes.store.tables import utcnow
from tests import factories
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "outbox.py")


def _manager(engine: Engine, *, scoped_to: str | None = None) -> int:
    with session_scope(engine) as session:
        user = create_staff_user(
            session,
            email="manager@example.org",
            role="manager",
            password="purple lantern over the harbour",
            actor="test",
            programme_codes=[scoped_to] if scoped_to else None,
            all_programmes=scoped_to is None,
            must_change_password=False,
        )
        assert user.id is not None
        return user.id


def _open(engine: Engine, user_id: int) -> AppTest:
    with session_scope(engine) as session:
        staff = factories.signed_in(session, user_id)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["staff"] = staff
    return at.run()


def _invite(engine: Engine, code: str, email: str) -> None:
    with session_scope(engine) as session:
        wave = factories.mail_wave(session, today=utcnow().date(), name=f"{code} wave", code=code)
        factories.wave_invitation(session, wave, email=email, code=code)


def test_in_demo_mode_the_button_sends_what_is_due_into_the_outbox(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DEMO", "on")
    user_id = _manager(app_engine)
    _invite(app_engine, "DA-101", "ana@example.org")
    at = _open(app_engine, user_id)
    assert not at.exception
    assert "No messages yet" in at.markdown[-1].value
    at.button[0].click().run()
    assert not at.exception
    assert at.success[0].value.endswith("1 message(s) added to the outbox.")
    [entry] = at.expander
    assert "Invitation" in entry.label and "Data Analytics" in entry.label
    assert "To: ana@example.org" in [t.value for t in at.text]
    body = next(t.value for t in at.text if "personal link" in t.value)
    assert "http://localhost:8501/s/" in body


def test_a_scoped_manager_sees_only_their_programmes_messages(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcomes.config import get_settings
    from outcomes.fieldwork.sending import run_fieldwork

    monkeypatch.setenv("OUTCOMES_DEMO", "on")
    _invite(app_engine, "DA-101", "ana@example.org")
    _invite(app_engine, "UX-201", "luis@example.org")
    run_fieldwork(app_engine, get_settings(), clock=lambda: utcnow() + dt.timedelta(seconds=1))
    at = _open(app_engine, _manager(app_engine, scoped_to="UX-201"))
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "To: luis@example.org" in texts and "To: ana@example.org" not in texts
    # Sending covers every programme's waves: a scoped manager has no button to start it.
    assert not [b for b in at.button if b.label == "Send what is due now"]
    assert any("covers every programme" in c.value for c in at.caption)
