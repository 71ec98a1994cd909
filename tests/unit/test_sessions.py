"""Pure lifetime rules of a staff browser session: idle, absolute, SSO freshness, code wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from outcomes.access import sessions
from outcomes.access.sessions import (
    END_NOTICES,
    ENDED_ELSEWHERE,
    IDLE_EXPIRED,
    LIFETIME_EXPIRED,
    NOTICE_KEY,
    SECOND_FACTOR_EXPIRED,
    SSO_EXPIRED,
    STAFF_KEY,
    StaffSession,
)
from outcomes.access.staff_sessions import AUDITED_ENDINGS

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


def _session(*, started: dt.datetime = T0, seen: dt.datetime = T0) -> StaffSession:
    return StaffSession(7, "manager", "m@example.org", started, seen, "password", "tok")


# --- idle timeout and absolute lifetime ----------------------------------------------------


@pytest.mark.parametrize("idle_minutes", [1, 30, 45])
def test_a_session_idle_one_second_short_of_the_timeout_lives_and_at_the_timeout_expires(
    idle_minutes: int,
) -> None:
    session = _session()
    limit = T0 + idle_minutes * MINUTE
    rules = {"idle_minutes": idle_minutes, "max_hours": 12}
    assert sessions.expiry_reason(session, at=limit - SECOND, **rules) is None
    assert sessions.expiry_reason(session, at=limit, **rules) == IDLE_EXPIRED


@pytest.mark.parametrize("max_hours", [1, 12, 30])
def test_an_active_session_ends_exactly_at_its_absolute_lifetime(max_hours: int) -> None:
    end = T0 + dt.timedelta(hours=max_hours)
    active = _session(seen=end - SECOND)  # seen a moment ago: never idle
    rules = {"idle_minutes": 30, "max_hours": max_hours}
    assert sessions.expiry_reason(active, at=end - SECOND, **rules) is None
    assert sessions.expiry_reason(_session(seen=end), at=end, **rules) == LIFETIME_EXPIRED


def test_a_session_both_idle_and_too_old_is_told_it_reached_its_maximum_length() -> None:
    at = T0 + dt.timedelta(hours=13)
    reason = sessions.expiry_reason(_session(), at=at, idle_minutes=30, max_hours=12)
    assert reason == LIFETIME_EXPIRED


def test_the_current_session_is_touched_so_activity_resets_the_idle_timer() -> None:
    state: dict[str, Any] = {STAFF_KEY: _session()}
    rules = {"idle_minutes": 30, "max_hours": 12}
    at = T0
    for _ in range(5):  # 5 × 29 minutes: idle longer in total than the timeout, never at once
        at += 29 * MINUTE
        live = sessions.current(state, at=at, **rules)
        assert live is not None and live.last_seen_at == at and live.started_at == T0
        assert state[STAFF_KEY] == live
    assert sessions.current(state, at=at + 30 * MINUTE, **rules) is None
    assert state == {NOTICE_KEY: IDLE_EXPIRED}


def test_an_expired_session_clears_everything_a_page_left_but_the_notice() -> None:
    state: dict[str, Any] = {STAFF_KEY: _session(), "privacy_record": "Ana Ruiz"}
    at = T0 + dt.timedelta(hours=12)
    assert sessions.current(state, at=at, idle_minutes=30, max_hours=12) is None
    assert state == {NOTICE_KEY: LIFETIME_EXPIRED}


def test_something_that_is_not_a_staff_session_signs_nobody_in() -> None:
    state: dict[str, Any] = {STAFF_KEY: {"user_id": 1, "role": "admin"}, "other": 1}
    assert sessions.current(state, at=T0, idle_minutes=30, max_hours=12) is None
    assert state == {"other": 1}
    assert sessions.current({}, at=T0, idle_minutes=30, max_hours=12) is None


def test_starting_a_session_forgets_notices_and_a_pending_code() -> None:
    state: dict[str, Any] = {
        NOTICE_KEY: IDLE_EXPIRED,
        sessions.SECOND_FACTOR_KEY: sessions.PendingSecondFactor(7, T0),
        "unrelated": "kept",
    }
    started = sessions.start(
        state, user_id=7, role="admin", email="a@example.org", via="sso", at=T0, token="t"
    )
    assert started == StaffSession(7, "admin", "a@example.org", T0, T0, "sso", "t")
    assert state == {STAFF_KEY: started, "unrelated": "kept"}


def test_signing_out_clears_the_whole_state_and_keeps_only_a_notice() -> None:
    state: dict[str, Any] = {STAFF_KEY: _session(), "privacy_record": "Ana Ruiz"}
    sessions.end(state)
    assert state == {}
    state = {STAFF_KEY: _session()}
    sessions.end(state, ENDED_ELSEWHERE)
    assert state == {NOTICE_KEY: ENDED_ELSEWHERE}


# --- the server-side row -------------------------------------------------------------------


def test_the_server_side_row_is_rewritten_once_a_minute_not_on_every_rerun() -> None:
    assert not sessions.needs_touch(T0, T0 + MINUTE - SECOND)
    assert sessions.needs_touch(T0, T0 + MINUTE)


@pytest.mark.parametrize("reason", sorted(END_NOTICES))
def test_each_way_a_session_is_ended_elsewhere_has_its_own_sentence(reason: str) -> None:
    assert sessions.notice_for(reason) == END_NOTICES[reason]


def test_every_account_change_that_ends_sessions_tells_the_browser_why() -> None:
    assert set(AUDITED_ENDINGS) <= set(END_NOTICES)


def test_an_unknown_or_missing_end_reason_gets_the_general_sentence() -> None:
    assert len(set(END_NOTICES.values())) == len(END_NOTICES)
    assert sessions.notice_for("missing") == ENDED_ELSEWHERE
    assert sessions.notice_for(None) == ENDED_ELSEWHERE


# --- single sign-on freshness --------------------------------------------------------------


def _sso(
    issued: dt.datetime | None,
    *,
    authenticated: dt.datetime | None = None,
    last_ended: dt.datetime | None = None,
    at: dt.datetime,
    max_hours: int = 12,
) -> str | None:
    return sessions.sso_identity_refusal(
        issued_at=issued,
        authenticated_at=authenticated,
        last_ended_at=last_ended,
        at=at,
        max_hours=max_hours,
    )


def test_an_sso_identity_without_an_issue_time_is_refused() -> None:
    assert _sso(None, at=T0) == SSO_EXPIRED


@pytest.mark.parametrize("max_hours", [1, 12])
def test_an_sso_identity_is_accepted_until_it_is_as_old_as_the_absolute_lifetime(
    max_hours: int,
) -> None:
    end = T0 + dt.timedelta(hours=max_hours)
    assert _sso(T0, at=end - SECOND, max_hours=max_hours) is None
    assert _sso(T0, at=end, max_hours=max_hours) == SSO_EXPIRED


def test_the_providers_authentication_time_bounds_an_sso_identity_reissued_later() -> None:
    # A token refreshed an hour ago for a sign-in made 12 hours ago is 12 hours old.
    at = T0 + dt.timedelta(hours=12)
    assert _sso(at - dt.timedelta(hours=1), authenticated=T0, at=at) == SSO_EXPIRED
    assert _sso(at - dt.timedelta(hours=1), authenticated=T0 + SECOND, at=at) is None


def test_an_sso_identity_issued_before_the_last_session_ended_cannot_start_another() -> None:
    ended = T0 + dt.timedelta(minutes=31)
    assert _sso(T0, last_ended=ended, at=ended + MINUTE) == SSO_EXPIRED
    assert _sso(ended, last_ended=ended, at=ended + MINUTE) == SSO_EXPIRED  # same instant
    assert _sso(ended + SECOND, last_ended=ended, at=ended + MINUTE) is None


# --- a correct password waiting for its code -----------------------------------------------


def test_a_password_waits_five_minutes_for_its_code_then_is_forgotten_with_a_notice() -> None:
    state: dict[str, Any] = {}
    pending = sessions.await_second_factor(state, user_id=7, at=T0)
    wait = dt.timedelta(minutes=sessions.SECOND_FACTOR_MINUTES)
    assert sessions.SECOND_FACTOR_MINUTES == 5
    assert sessions.pending_second_factor(state, at=T0 + wait - SECOND) == pending
    assert NOTICE_KEY not in state
    assert sessions.pending_second_factor(state, at=T0 + wait) is None
    assert state == {NOTICE_KEY: SECOND_FACTOR_EXPIRED}


def test_a_pending_code_can_be_given_up_and_a_forged_one_is_ignored() -> None:
    state: dict[str, Any] = {}
    sessions.await_second_factor(state, user_id=7, at=T0)
    sessions.forget_second_factor(state)
    assert sessions.pending_second_factor(state, at=T0) is None
    state = {sessions.SECOND_FACTOR_KEY: {"user_id": 1, "since": T0}}
    assert sessions.pending_second_factor(state, at=T0) is None
    assert state == {}
