"""Finding a staff account: the one lookup below staff accounts, sessions and second factors."""

from __future__ import annotations

from sqlmodel import Session

from outcomes.errors import NotFound
from outcomes.store.tables import StaffUser


def staff_user(session: Session, user_id: int) -> StaffUser:
    """The staff user with ``user_id``, or ``NotFound``."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(f"There is no staff user with id {user_id}.")
    return user
