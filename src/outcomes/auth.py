"""Staff sign-in: checking credentials against the staff table, audited."""

from __future__ import annotations

from sqlmodel import Session, select

from outcomes import audit
from outcomes.models import StaffUser, utcnow
from outcomes.passwords import verify_password

SIGNIN_FAILED = "The e-mail or password is not right."


def authenticate(session: Session, *, email: str, password: str) -> StaffUser | None:
    """The active staff user with these credentials, or None; audited either way.

    A failure returns None rather than raising so that the caller's unit of work commits the
    failure's audit event and counter.
    """
    address = email.strip().lower()
    user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        audit.record(
            session,
            actor=f"staff:{user.id}" if user else "anonymous",
            action="signin.failed",
            object_type="staff_user",
            object_id=user.id if user else None,
        )
        if user is not None:
            user.failed_signins += 1
            session.add(user)
        return None
    user.failed_signins = 0
    user.last_signin_at = utcnow()
    session.add(user)
    audit.record(
        session,
        actor=f"staff:{user.id}",
        action="signin.succeeded",
        object_type="staff_user",
        object_id=user.id,
    )
    return user
