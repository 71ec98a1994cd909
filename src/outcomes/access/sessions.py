"""Staff browser sessions: idle timeout, absolute lifetime, a sign-in awaiting its second factor.

Pure (no Streamlit): the functions take the session-state mapping and the current time, so
tests inject a clock. ``webapp`` calls them on every rerun with ``now()``.

A browser session holds only a random token; the server-side row it names
(``outcomes.access.staff_sessions``) is what an administrator ends. Signing out or expiring clears
the whole session state, keeping only the one-off notice for the sign-in page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from outcomes.store.tables import utcnow

STAFF_KEY = "staff"
NOTICE_KEY = "signin_notice"
SECOND_FACTOR_KEY = "signin_second_factor"
SECOND_FACTOR_MINUTES = 5  # a correct password waits this long for its code
SECOND_FACTOR_EXPIRED = "That took too long: sign in again."

IDLE_EXPIRED = "You were signed out after a period of inactivity: sign in again."
LIFETIME_EXPIRED = "Your session has reached its maximum length: sign in again."
ACCOUNT_CHANGED = "Your account is no longer active: ask an administrator."
ENDED_ELSEWHERE = "Your session was ended: sign in again."
SSO_EXPIRED = "Your single sign-on session has ended: choose Sign in with single sign-on."

# Why a server-side session row was ended → what its browser is told on the next rerun.
END_NOTICES = {
    "idle": IDLE_EXPIRED,
    "lifetime": LIFETIME_EXPIRED,
    "inactive": ACCOUNT_CHANGED,
    "ended_by_admin": "An administrator ended your session: sign in again.",
    "password_changed": "Your password was changed in another session: sign in again.",
    "password_reset": "An administrator reset your password: sign in with the new one.",
    "second_factor_reset": "An administrator reset your second factor: sign in again.",
}

# The server-side row's last_seen_at is written at most this often, not on every rerun.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def now() -> dt.datetime:
    """The current time (tests monkeypatch this to move the clock)."""
    return utcnow()


@dataclass(frozen=True)
class StaffSession:
    """A signed-in staff member in one browser session, with the times that bound it."""

    user_id: int
    role: str
    email: str
    started_at: dt.datetime
    last_seen_at: dt.datetime
    via: str = "password"
    token: str = ""  # names the server-side row (only its keyed hash is stored)

    def touched(self, at: dt.datetime) -> StaffSession:
        """The same session, last seen ``at``."""
        return replace(self, last_seen_at=at)


def start(
    state: MutableMapping[str, Any],
    *,
    user_id: int,
    role: str,
    email: str,
    via: str,
    at: dt.datetime,
    token: str = "",
) -> StaffSession:
    """Sign a staff member in to this browser session."""
    session = StaffSession(
        user_id, role, email, started_at=at, last_seen_at=at, via=via, token=token
    )
    state[STAFF_KEY] = session
    state.pop(NOTICE_KEY, None)
    state.pop(SECOND_FACTOR_KEY, None)
    return session


def end(state: MutableMapping[str, Any], notice: str | None = None) -> None:
    """Sign out of this browser session: clear ALL of its state but ``notice``.

    Whatever a page left in session state (a learner looked up on the privacy page, a
    half-finished enrolment) must not outlive the sign-in that put it there.
    """
    state.clear()
    if notice:
        state[NOTICE_KEY] = notice


def notice_for(end_reason: str | None) -> str:
    """The sentence a browser is shown when its server-side session was ended."""
    return END_NOTICES.get(end_reason or "", ENDED_ELSEWHERE)


def needs_touch(last_written: dt.datetime, at: dt.datetime) -> bool:
    """True when the server-side row's last_seen_at is stale enough to be rewritten."""
    return at - last_written >= TOUCH_INTERVAL


def sso_identity_refusal(
    *,
    issued_at: dt.datetime | None,
    authenticated_at: dt.datetime | None,
    last_ended_at: dt.datetime | None,
    at: dt.datetime,
    max_hours: int,
) -> str | None:
    """Why a single sign-on identity may not start a session at ``at``, or None if it may.

    The identity provider's authentication (``auth_time``, else ``iat``) must be within the
    absolute lifetime, and the identity must have been issued (``iat``) after the user's last
    session ended: Streamlit's identity cookie lasts 30 days and survives the end of our
    session, so without this an expired session would be silently recreated from it. A
    browser redirect loses session state, so this rule is kept in the database, not in
    session state; a fresh ``iat`` comes only from an explicit "Sign in with single sign-on".
    """
    if issued_at is None:
        return SSO_EXPIRED
    authenticated = authenticated_at or issued_at
    if at - authenticated >= dt.timedelta(hours=max_hours):
        return SSO_EXPIRED
    if last_ended_at is not None and issued_at <= last_ended_at:
        return SSO_EXPIRED
    return None


def expiry_reason(
    session: StaffSession, *, at: dt.datetime, idle_minutes: int, max_hours: int
) -> str | None:
    """Why ``session`` has expired at ``at``, or None while it is still valid."""
    if at - session.started_at >= dt.timedelta(hours=max_hours):
        return LIFETIME_EXPIRED
    if at - session.last_seen_at >= dt.timedelta(minutes=idle_minutes):
        return IDLE_EXPIRED
    return None


def current(
    state: MutableMapping[str, Any], *, at: dt.datetime, idle_minutes: int, max_hours: int
) -> StaffSession | None:
    """The live staff session (touched ``at``), or None; an expired one is ended."""
    session = state.get(STAFF_KEY)
    if not isinstance(session, StaffSession):
        state.pop(STAFF_KEY, None)
        return None
    reason = expiry_reason(session, at=at, idle_minutes=idle_minutes, max_hours=max_hours)
    if reason is not None:
        end(state, reason)
        return None
    touched = session.touched(at)
    state[STAFF_KEY] = touched
    return touched


@dataclass(frozen=True)
class PendingSecondFactor:
    """A correct password waiting for its second factor; no session exists yet."""

    user_id: int
    since: dt.datetime


def await_second_factor(
    state: MutableMapping[str, Any], *, user_id: int, at: dt.datetime
) -> PendingSecondFactor:
    """Remember that ``user_id`` gave a correct password and now owes a code."""
    pending = PendingSecondFactor(user_id, at)
    state[SECOND_FACTOR_KEY] = pending
    return pending


def pending_second_factor(
    state: MutableMapping[str, Any], *, at: dt.datetime
) -> PendingSecondFactor | None:
    """The sign-in waiting for a code, or None (an old one is forgotten, with a notice)."""
    pending = state.get(SECOND_FACTOR_KEY)
    if not isinstance(pending, PendingSecondFactor):
        state.pop(SECOND_FACTOR_KEY, None)
        return None
    if at - pending.since >= dt.timedelta(minutes=SECOND_FACTOR_MINUTES):
        state.pop(SECOND_FACTOR_KEY, None)
        state[NOTICE_KEY] = SECOND_FACTOR_EXPIRED
        return None
    return pending


def forget_second_factor(state: MutableMapping[str, Any]) -> None:
    """Drop a sign-in waiting for its code (cancelled, locked or completed)."""
    state.pop(SECOND_FACTOR_KEY, None)
