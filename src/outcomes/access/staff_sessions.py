"""Server-side staff sessions: one ``staff_session`` row per sign-in, checked on every rerun.

The browser session keeps a random token; the row stores only its purpose-labelled HMAC
(``Purpose.SESSION``), so a copy of the table signs nobody in. A row ended here (sign-out,
expiry, an administrator, a password change) signs its browser out on the next rerun.
The pure lifetime rules stay in ``outcomes.access.sessions``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outcomes import audit
from outcomes.access import sessions
from outcomes.access.accounts import staff_user
from outcomes.config import Settings
from outcomes.keys import Purpose, labelled_hmac_hex
from outcomes.store.tables import StaffSessionRecord, StaffUser


def token_hash(token: str, *, settings: Settings) -> str:
    """The stored form of a session token (labelled HMAC, hex)."""
    secret = settings.require_secret_key()
    return labelled_hmac_hex(secret, Purpose.SESSION, token)


def open_session(
    session: Session, *, user_id: int, via: str, at: dt.datetime, settings: Settings
) -> str:
    """Record a new staff session for ``user_id``; the token to keep in the browser session."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSessionRecord(
            token_hash=token_hash(token, settings=settings),
            user_id=user_id,
            via=via,
            started_at=at,
            last_seen_at=at,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class SessionCheck:
    """The outcome of checking a browser's token: the user, or why it is signed out."""

    user: StaffUser | None
    end_reason: str | None = None  # set when the row was ended (here or elsewhere)


def check_session(
    session: Session, *, token: str, at: dt.datetime, settings: Settings
) -> SessionCheck:
    """Check the row ``token`` names: not ended, user still active; touch it now and then."""
    record = _record(session, token, settings)
    if record is None:
        return SessionCheck(None, "missing")
    if record.ended_at is not None:
        return SessionCheck(None, record.end_reason)
    user = session.get(StaffUser, record.user_id)
    if user is None or not user.active:
        _end(record, "inactive", at)
        session.add(record)
        return SessionCheck(None, "inactive")
    if sessions.needs_touch(record.last_seen_at, at):
        record.last_seen_at = at
        session.add(record)
    return SessionCheck(user)


def close_session(
    session: Session,
    *,
    token: str,
    reason: str,
    at: dt.datetime,
    settings: Settings,
) -> None:
    """End the row ``token`` names with ``reason`` (sign-out, idle, lifetime)."""
    record = _record(session, token, settings)
    if record is not None and record.ended_at is None:
        _end(record, reason, at)
        session.add(record)


def end_user_sessions(
    session: Session,
    *,
    user_id: int,
    reason: str,
    at: dt.datetime,
    except_hash: str | None = None,
) -> int:
    """End every open session of ``user_id`` (but the one stored as ``except_hash``); how many."""
    statement = select(StaffSessionRecord).where(
        col(StaffSessionRecord.user_id) == user_id, col(StaffSessionRecord.ended_at).is_(None)
    )
    ended = 0
    for record in session.exec(statement).all():
        if record.token_hash == except_hash:
            continue
        _end(record, reason, at)
        session.add(record)
        ended += 1
    session.flush()
    return ended


# An account change that signs its user out → the audit action recording it and the detail
# key holding how many sessions it ended (kept as first written: the trail is append-only).
AUDITED_ENDINGS = {
    "ended_by_admin": ("staff.sessions_ended", "sessions"),
    "password_reset": ("staff.password_reset", "sessions_ended"),
    "password_changed": ("staff.password_changed", "other_sessions_ended"),
    "second_factor_reset": ("staff.second_factor_reset", "sessions_ended"),
}


def end_sessions_audited(
    session: Session,
    *,
    user_id: int,
    reason: str,
    actor: str,
    at: dt.datetime,
    except_hash: str | None = None,
) -> int:
    """End ``user_id``'s open sessions (but ``except_hash``'s) for ``reason``; audited.

    ``reason`` is one of ``AUDITED_ENDINGS``: the event names the change and counts the
    sessions it ended. Returns that count.
    """
    action, count_as = AUDITED_ENDINGS[reason]
    ended = end_user_sessions(
        session, user_id=user_id, reason=reason, at=at, except_hash=except_hash
    )
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="staff_user",
        object_id=user_id,
        detail={count_as: ended},
    )
    return ended


def end_sessions_by_admin(session: Session, *, user_id: int, actor: str, at: dt.datetime) -> int:
    """An administrator signs ``user_id`` out everywhere; audited with the count."""
    staff_user(session, user_id)
    return end_sessions_audited(
        session, user_id=user_id, reason="ended_by_admin", actor=actor, at=at
    )


def last_ended_at(session: Session, user_id: int) -> dt.datetime | None:
    """When the latest session of ``user_id`` ended, or None if none ever has."""
    value = session.execute(
        sa.select(sa.func.max(col(StaffSessionRecord.ended_at))).where(
            col(StaffSessionRecord.user_id) == user_id
        )
    ).scalar_one()
    return value


def _record(session: Session, token: str, settings: Settings) -> StaffSessionRecord | None:
    if not token:
        return None
    hashed = token_hash(token, settings=settings)
    return session.exec(
        select(StaffSessionRecord).where(col(StaffSessionRecord.token_hash) == hashed)
    ).first()


def _end(record: StaffSessionRecord, reason: str, at: dt.datetime) -> None:
    record.ended_at = at
    record.end_reason = reason
