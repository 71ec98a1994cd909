"""The Streamlit glue shared by ``app.py`` and the pages: engine, current viewer, page guard.

Pages stay thin: they call ``guard(key)`` first, then one function of the ``outcomes``
package, then render. Domain errors are shown with ``show_error`` as one plain sentence.

Every rerun re-checks the staff session (idle timeout, absolute lifetime, its server-side
row not ended, account still active, current role) before any page runs; see
``outcomes.access.sessions`` for the pure rules and ``outcomes.access.staff_sessions`` for
the rows. A staff member who must first change a password or set up a second factor is seen as the
``account_setup`` audience, which may open only the account page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import streamlit as st
from sqlalchemy.engine import Engine

from outcomes.access import auth, mfa, sessions, staff_sessions, throttle
from outcomes.access.permissions import ACCOUNT_SETUP, ANONYMOUS, can_open, page
from outcomes.access.staff import use_temporary_password, user_for_sso
from outcomes.config import Settings, get_settings
from outcomes.errors import DatabaseError, OutcomesError, SettingsError
from outcomes.store.engine import session_scope
from outcomes.store.migrate import open_database
from outcomes.store.tables import StaffUser
from outcomes.web.unavailable import show_unavailable

SSO_REFUSED_KEY = "sso_refused"

MUST_CHANGE_PASSWORD = "Choose your own password before you continue."
MUST_ENROL = "Set up a second factor before you continue: administrators need one."


def _state() -> MutableMapping[str, Any]:
    # SessionStateProxy behaves as a mutable mapping but is not declared as one.
    return cast(MutableMapping[str, Any], st.session_state)


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return open_database(url)


def get_engine() -> Engine:
    """The process-wide engine for the configured database (checked to be migrated)."""
    return _engine_for(get_settings().database_url)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the app in this browser session."""

    audience: str
    user_id: int | None = None
    email: str | None = None
    setup: str | None = None  # why only the account page is open, for ``account_setup``
    via: str | None = None

    @property
    def is_staff(self) -> bool:
        """True for signed-in staff."""
        return self.audience != ANONYMOUS

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


@dataclass(frozen=True)
class SsoIdentity:
    """The verified single sign-on identity in ``st.user`` and when it was issued."""

    email: str
    issued_at: dt.datetime | None  # the ID token's ``iat``
    authenticated_at: dt.datetime | None = None  # ``auth_time``, when the provider sends it


def _claim_time(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def sso_identity() -> SsoIdentity | None:
    """The verified single sign-on identity in ``st.user``, or None."""
    if not sso_configured():
        return None
    user = st.user
    if not user.get("is_logged_in") or user.get("email_verified") is False:
        return None
    email = user.get("email")
    if not email:
        return None
    return SsoIdentity(str(email), _claim_time(user.get("iat")), _claim_time(user.get("auth_time")))


def sso_sign_out() -> None:
    """Drop Streamlit's identity cookie (and the provider's session where it allows)."""
    st.logout()


def start_sso_sign_in() -> None:
    """Send the browser to the identity provider (the only way an SSO session starts anew)."""
    st.login()


def sso_refused_identity() -> bool:
    """True when the SSO identity in this browser has no active staff account here."""
    identity = sso_identity()
    return identity is not None and st.session_state.get(SSO_REFUSED_KEY) == identity.email


def _staff_viewer() -> Viewer | None:
    settings = get_settings()
    state = _state()
    at = sessions.now()
    before = state.get(sessions.STAFF_KEY)
    staff = sessions.current(
        state,
        at=at,
        idle_minutes=settings.session_idle_minutes,
        max_hours=settings.session_max_hours,
    )
    if staff is None:
        if isinstance(before, sessions.StaffSession):  # expired on this rerun
            _expired(before, state, at)
            return None  # never started again in the same rerun, from an SSO cookie or else
        return _sso_viewer()
    with session_scope(get_engine()) as session:
        check = staff_sessions.check_session(session, token=staff.token, at=at, settings=settings)
        user = check.user
        if user is None and check.end_reason == "inactive":
            auth.record_signout(session, user_id=staff.user_id, reason="inactive")
        setup = _setup_needed(user, staff.via, settings) if user is not None else None
    if user is None:
        sessions.end(state, sessions.notice_for(check.end_reason))
        if staff.via == "sso":
            sso_sign_out()
        return None
    if user.role != staff.role:
        state[sessions.STAFF_KEY] = staff = sessions.StaffSession(
            staff.user_id,
            user.role,
            staff.email,
            staff.started_at,
            staff.last_seen_at,
            staff.via,
            staff.token,
        )
    if setup is not None:
        return Viewer(ACCOUNT_SETUP, staff.user_id, staff.email, setup=setup, via=staff.via)
    return Viewer(staff.role, staff.user_id, staff.email, via=staff.via)


def _expired(
    before: sessions.StaffSession, state: MutableMapping[str, Any], at: dt.datetime
) -> None:
    """End the row of a session that has just expired (audited); SSO is logged out too."""
    reason = "idle" if state.get(sessions.NOTICE_KEY) == sessions.IDLE_EXPIRED else "lifetime"
    with session_scope(get_engine()) as session:
        staff_sessions.close_session(
            session, token=before.token, reason=reason, at=at, settings=get_settings()
        )
        auth.record_signout(session, user_id=before.user_id, reason=reason)
    if before.via == "sso":
        sso_sign_out()


def _setup_needed(user: StaffUser, via: str, settings: Settings) -> str | None:
    """Why ``user`` may open only the account page in a session started ``via``, or None."""
    if user.must_change_password and via == "password":
        return MUST_CHANGE_PASSWORD
    if mfa.required_for(user, via=via, settings=settings) and not mfa.has_second_factor(user):
        return MUST_ENROL
    return None


def _sso_viewer() -> Viewer | None:
    identity = sso_identity()
    if identity is None or st.session_state.get(SSO_REFUSED_KEY) == identity.email:
        return None
    settings = get_settings()
    at = sessions.now()
    token = ""
    with session_scope(get_engine()) as session:
        known = user_for_sso(session, identity.email)
        last_ended = staff_sessions.last_ended_at(session, known.id) if known and known.id else None
        stale = sessions.sso_identity_refusal(
            issued_at=identity.issued_at,
            authenticated_at=identity.authenticated_at,
            last_ended_at=last_ended,
            at=at,
            max_hours=settings.session_max_hours,
        )
        if stale is not None:
            st.session_state[sessions.NOTICE_KEY] = stale  # until an explicit sign-in
            return None
        result = auth.authenticate_sso(session, email=identity.email, at=at, settings=settings)
        if result.user is not None and result.user.id is not None:
            token = staff_sessions.open_session(
                session, user_id=result.user.id, via="sso", at=at, settings=settings
            )
    if result.user is None or result.user.id is None:
        st.session_state[SSO_REFUSED_KEY] = identity.email
        st.session_state[sessions.NOTICE_KEY] = result.refusal
        return None
    staff = sessions.start(
        _state(),
        user_id=result.user.id,
        role=result.user.role,
        email=result.user.email,
        via="sso",
        at=at,
        token=token,
    )
    return Viewer(staff.role, staff.user_id, staff.email, via="sso")


def current_viewer() -> Viewer:
    """The viewer of this session: signed-in staff, or anonymous."""
    staff = _staff_viewer()
    if staff is not None:
        return staff
    return Viewer(ANONYMOUS)


def guard(key: str) -> Viewer:
    """Stop the page unless the current viewer may open it (a URL must not bypass roles)."""
    viewer = current_viewer()
    if not can_open(viewer.audience, key):
        st.error(f"You do not have access to {page(key).title}.")
        st.stop()
    return viewer


def client_address() -> str | None:
    """This browser's address: from the trusted proxy's header when one is configured.

    ``st.context.ip_address`` is the WebSocket peer (None for this host). Behind a reverse
    proxy, ``OUTCOMES_TRUSTED_PROXY_HEADER`` names the header it sets, read from the
    handshake's headers (``throttle.client_address`` picks the entry the proxy wrote).
    """
    header = get_settings().trusted_proxy_header
    peer = st.context.ip_address
    if not header:
        return peer
    return throttle.client_address(peer, st.context.headers.get_all(header))


def sign_in_with_password(email: str, password: str) -> str | None:
    """Try to sign this browser session in; the sentence to show when refused, else None."""
    settings = get_settings()
    at = sessions.now()
    with session_scope(get_engine()) as session:
        result = auth.authenticate(
            session,
            email=email,
            password=password,
            settings=settings,
            client=client_address(),
            at=at,
        )
    if result.user is None or result.user.id is None:
        return result.refusal or auth.SIGNIN_FAILED
    if result.second_factor:
        sessions.await_second_factor(_state(), user_id=result.user.id, at=at)
        return None
    _start_password_session(result.user.id, at)
    return None


def _start_password_session(user_id: int, at: dt.datetime) -> None:
    with session_scope(get_engine()) as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            return
        use_temporary_password(session, user)
        token = staff_sessions.open_session(
            session, user_id=user_id, via="password", at=at, settings=get_settings()
        )
        role, email = user.role, user.email
    sessions.start(
        _state(), user_id=user_id, role=role, email=email, via="password", at=at, token=token
    )


def second_factor_pending() -> bool:
    """True while a correct password waits for its second-factor code in this session."""
    return sessions.pending_second_factor(_state(), at=sessions.now()) is not None


def cancel_second_factor() -> None:
    """Give up a sign-in that is waiting for its code."""
    sessions.forget_second_factor(_state())


def sign_in_with_second_factor(code: str) -> str | None:
    """Finish a password sign-in with a TOTP or recovery code; the refusal sentence, or None."""
    state = _state()
    at = sessions.now()
    pending = sessions.pending_second_factor(state, at=at)
    if pending is None:
        return sessions.SECOND_FACTOR_EXPIRED
    with session_scope(get_engine()) as session:
        result = auth.check_second_factor(
            session,
            user_id=pending.user_id,
            code=code,
            client=client_address(),
            at=at,
            settings=get_settings(),
        )
    if result.user is not None:
        _start_password_session(pending.user_id, at)
        return None
    if result.refusal != auth.SECOND_FACTOR_FAILED:  # locked, or the account went away
        sessions.forget_second_factor(state)
    return result.refusal or auth.SIGNIN_FAILED


def current_token() -> str | None:
    """The token of this browser's staff session (to keep it when ending the others)."""
    staff = st.session_state.get(sessions.STAFF_KEY)
    return staff.token if isinstance(staff, sessions.StaffSession) else None


def sign_out(viewer: Viewer) -> None:
    """End this staff session and clear its state (audited); SSO is logged out there too."""
    staff = st.session_state.get(sessions.STAFF_KEY)
    if viewer.user_id is not None:
        with session_scope(get_engine()) as session:
            if isinstance(staff, sessions.StaffSession):
                staff_sessions.close_session(
                    session,
                    token=staff.token,
                    reason="user",
                    at=sessions.now(),
                    settings=get_settings(),
                )
            auth.record_signout(session, user_id=viewer.user_id, reason="user")
    sessions.end(_state())
    if isinstance(staff, sessions.StaffSession) and staff.via == "sso":
        sso_sign_out()


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
