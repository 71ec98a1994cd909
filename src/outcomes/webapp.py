"""The Streamlit glue shared by ``app.py`` and the pages: engine, current viewer, page guard.

Pages stay thin: they call ``guard(key)`` first, then one function of the ``outcomes``
package, then render. Domain errors are shown with ``show_error`` as one plain sentence.

Every rerun re-checks the staff session (idle timeout, absolute lifetime, account still
active, current role) before any page runs; see ``outcomes.sessions`` for the pure rules.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import streamlit as st
from sqlalchemy.engine import Engine

from outcomes import audit, auth, sessions
from outcomes.access import ANONYMOUS, GRADUATE, can_open, page
from outcomes.config import get_settings
from outcomes.db import make_engine, session_scope
from outcomes.errors import DatabaseError, OutcomesError, SettingsError
from outcomes.migrate import check_current
from outcomes.staff import active_user
from outcomes.web.unavailable import show_unavailable

SSO_REFUSED_KEY = "sso_refused"


def _state() -> MutableMapping[str, Any]:
    # SessionStateProxy behaves as a mutable mapping but is not declared as one.
    return cast(MutableMapping[str, Any], st.session_state)


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    check_current(engine)
    return engine


def get_engine() -> Engine:
    """The process-wide engine for the configured database (checked to be migrated)."""
    return _engine_for(get_settings().database_url)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the app in this browser session."""

    audience: str
    user_id: int | None = None
    email: str | None = None

    @property
    def is_staff(self) -> bool:
        """True for signed-in staff."""
        return self.audience not in (ANONYMOUS, GRADUATE)

    @property
    def actor(self) -> str:
        """The audit actor name of this viewer."""
        return f"staff:{self.user_id}" if self.is_staff else self.audience


def sso_configured() -> bool:
    """True when ``[auth]`` is configured in ``.streamlit/secrets.toml``."""
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except (FileNotFoundError, KeyError):
        return False


def sso_identity() -> str | None:
    """The verified e-mail of the single sign-on identity in ``st.user``, or None."""
    if not sso_configured():
        return None
    user = st.user
    if not user.get("is_logged_in") or user.get("email_verified") is False:
        return None
    email = user.get("email")
    return str(email) if email else None


def start_sso_sign_in() -> None:
    """Send the browser to the identity provider."""
    st.login()


def _staff_viewer() -> Viewer | None:
    settings = get_settings()
    state = _state()
    before = state.get(sessions.STAFF_KEY)
    staff = sessions.current(
        state,
        at=sessions.now(),
        idle_minutes=settings.session_idle_minutes,
        max_hours=settings.session_max_hours,
    )
    if staff is None:
        if isinstance(before, sessions.StaffSession):  # expired on this rerun
            reason = (
                "idle" if state.get(sessions.NOTICE_KEY) == sessions.IDLE_EXPIRED else "lifetime"
            )
            with session_scope(get_engine()) as session:
                auth.record_signout(session, user_id=before.user_id, reason=reason)
        return _sso_viewer()
    with session_scope(get_engine()) as session:
        user = active_user(session, staff.user_id)
        if user is None:
            auth.record_signout(session, user_id=staff.user_id, reason="inactive")
    if user is None:
        sessions.end(state, sessions.ACCOUNT_CHANGED)
        return None
    if user.role != staff.role:
        state[sessions.STAFF_KEY] = staff = sessions.StaffSession(
            staff.user_id, user.role, staff.email, staff.started_at, staff.last_seen_at, staff.via
        )
    return Viewer(staff.role, staff.user_id, staff.email)


def _sso_viewer() -> Viewer | None:
    email = sso_identity()
    if email is None or st.session_state.get(SSO_REFUSED_KEY) == email:
        return None
    with session_scope(get_engine()) as session:
        result = auth.authenticate_sso(session, email=email)
    if result.user is None or result.user.id is None:
        st.session_state[SSO_REFUSED_KEY] = email
        st.session_state[sessions.NOTICE_KEY] = result.refusal
        return None
    staff = sessions.start(
        _state(),
        user_id=result.user.id,
        role=result.user.role,
        email=result.user.email,
        via="sso",
        at=sessions.now(),
    )
    return Viewer(staff.role, staff.user_id, staff.email)


def current_viewer() -> Viewer:
    """The viewer of this session: staff, graduate (with a survey token) or anonymous."""
    staff = _staff_viewer()
    if staff is not None:
        return staff
    if st.session_state.get("survey_token_hash"):
        return Viewer(GRADUATE)
    return Viewer(ANONYMOUS)


def guard(key: str) -> Viewer:
    """Stop the page unless the current viewer may open it (a URL must not bypass roles)."""
    viewer = current_viewer()
    if not can_open(viewer.audience, key):
        st.error(f"You do not have access to {page(key).title}.")
        st.stop()
    return viewer


def sign_in_with_password(email: str, password: str) -> str | None:
    """Try to sign this browser session in; the sentence to show when refused, else None."""
    settings = get_settings()
    state = _state()
    at = sessions.now()
    if sessions.session_locked(state, at=at):
        with session_scope(get_engine()) as session:
            audit.record(
                session,
                actor="anonymous",
                action="signin.refused_locked",
                object_type="browser_session",
            )
        return auth.SIGNIN_LOCKED
    with session_scope(get_engine()) as session:
        result = auth.authenticate(session, email=email, password=password, settings=settings)
    if result.user is None or result.user.id is None:
        locked = sessions.note_failure(
            state,
            at=at,
            max_failures=settings.signin_max_failures,
            lock_minutes=settings.signin_lock_minutes,
        )
        return auth.SIGNIN_LOCKED if locked else result.refusal
    sessions.start(
        state,
        user_id=result.user.id,
        role=result.user.role,
        email=result.user.email,
        via="password",
        at=at,
    )
    return None


def sign_out(viewer: Viewer) -> None:
    """End this staff session (audited); single sign-on users are logged out there too."""
    staff = st.session_state.get(sessions.STAFF_KEY)
    if viewer.user_id is not None:
        with session_scope(get_engine()) as session:
            auth.record_signout(session, user_id=viewer.user_id, reason="user")
    sessions.end(_state())
    if isinstance(staff, sessions.StaffSession) and staff.via == "sso":
        st.logout()


def take_notice() -> str | None:
    """The one-off message for the sign-in page (why the viewer was signed out), if any."""
    notice = st.session_state.pop(sessions.NOTICE_KEY, None)
    return str(notice) if notice else None


def show_error(exc: OutcomesError) -> None:
    """Show a domain error as one plain sentence.

    A database or settings error names the database URL and host: it goes to the server log,
    and the page shows a sentence without them (``outcomes.web.unavailable``).
    """
    if isinstance(exc, DatabaseError | SettingsError):
        show_unavailable(exc)
        return
    st.error(str(exc))


@contextmanager
def errors_shown_plainly() -> Iterator[None]:
    """Show a domain error raised inside the block as one sentence, then stop the page."""
    try:
        yield
    except OutcomesError as exc:
        show_error(exc)
        st.stop()
