"""Staff browser sessions: idle timeout, absolute lifetime and per-session sign-in throttling.

Pure (no Streamlit): the functions take the session-state mapping and the current time, so
tests inject a clock. ``webapp`` calls them on every rerun with ``now()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from outcomes.models import utcnow

STAFF_KEY = "staff"
FAILURES_KEY = "signin_failures"
LOCKED_UNTIL_KEY = "signin_locked_until"
NOTICE_KEY = "signin_notice"

IDLE_EXPIRED = "You were signed out after a period of inactivity: sign in again."
LIFETIME_EXPIRED = "Your session has reached its maximum length: sign in again."
ACCOUNT_CHANGED = "Your account is no longer active: ask an administrator."


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
) -> StaffSession:
    """Sign a staff member in to this browser session and clear its failure count."""
    session = StaffSession(user_id, role, email, started_at=at, last_seen_at=at, via=via)
    state[STAFF_KEY] = session
    state.pop(FAILURES_KEY, None)
    state.pop(LOCKED_UNTIL_KEY, None)
    state.pop(NOTICE_KEY, None)
    return session


def end(state: MutableMapping[str, Any], notice: str | None = None) -> None:
    """Sign out of this browser session, leaving ``notice`` for the sign-in page."""
    state.pop(STAFF_KEY, None)
    if notice:
        state[NOTICE_KEY] = notice


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


def session_locked(state: MutableMapping[str, Any], *, at: dt.datetime) -> bool:
    """True while this browser session may not try to sign in."""
    until = state.get(LOCKED_UNTIL_KEY)
    if isinstance(until, dt.datetime) and at < until:
        return True
    if until is not None:
        state.pop(LOCKED_UNTIL_KEY, None)
        state.pop(FAILURES_KEY, None)
    return False


def note_failure(
    state: MutableMapping[str, Any], *, at: dt.datetime, max_failures: int, lock_minutes: int
) -> bool:
    """Count a failed sign-in in this browser session; True when it is now locked."""
    failures = int(state.get(FAILURES_KEY, 0)) + 1
    state[FAILURES_KEY] = failures
    if failures >= max_failures:
        state[LOCKED_UNTIL_KEY] = at + dt.timedelta(minutes=lock_minutes)
        return True
    return False
