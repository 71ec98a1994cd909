"""Staff sign-in: passwords checked against the staff table, locks, single sign-on; audited.

An account is locked for ``signin_lock_minutes`` after ``signin_max_failures`` failed
sign-ins in a row. Unknown e-mails get the same answers and take the same time (a dummy
Argon2 hash is verified), and their failures are counted through the audit trail by a keyed
hash of the address, so that neither the wording nor the timing reveals whether an account
exists.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outcomes import audit
from outcomes.access.passwords import hash_password, needs_rehash, verify_password
from outcomes.config import Settings, get_settings
from outcomes.store.tables import AuditEvent, StaffUser, utcnow

SIGNIN_FAILED = "The e-mail or password is not right."
SIGNIN_LOCKED = "Sign-in is locked for a while after too many failed attempts: try again later."
SSO_REFUSED = "Your single sign-on identity has no active staff account here: ask an administrator."

UNKNOWN_EMAIL = "unknown_email"


@dataclass(frozen=True)
class SigninResult:
    """The outcome of one sign-in attempt: the user, or the sentence to show instead."""

    user: StaffUser | None
    refusal: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the attempt signed someone in."""
        return self.user is not None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def _recent_unknown_failures(session: Session, key: str, since: dt.datetime) -> int:
    statement = (
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            col(AuditEvent.action) == "signin.failed",
            col(AuditEvent.object_type) == UNKNOWN_EMAIL,
            col(AuditEvent.object_id) == key,
            col(AuditEvent.occurred_at) >= since,
        )
    )
    return int(session.execute(statement).scalar_one())


def _fail_unknown(
    session: Session, address: str, password: str, settings: Settings
) -> SigninResult:
    verify_password(_dummy_hash(), password)  # same work as for a real account
    key = audit.keyed_hash(address, settings.require_secret_key())
    since = utcnow() - dt.timedelta(minutes=settings.signin_lock_minutes)
    earlier = _recent_unknown_failures(session, key, since)
    audit.record(
        session, actor="anonymous", action="signin.failed", object_type=UNKNOWN_EMAIL, object_id=key
    )
    locked = earlier + 1 >= settings.signin_max_failures
    return SigninResult(None, SIGNIN_LOCKED if locked else SIGNIN_FAILED)


def _fail_known(session: Session, user: StaffUser, settings: Settings) -> SigninResult:
    user.failed_signins += 1
    audit.record(
        session,
        actor=audit.staff_actor(user.id),
        action="signin.failed",
        object_type="staff_user",
        object_id=user.id,
    )
    if user.failed_signins >= settings.signin_max_failures:
        user.locked_until = utcnow() + dt.timedelta(minutes=settings.signin_lock_minutes)
        user.failed_signins = 0
        session.add(user)
        audit.record(
            session,
            actor="system",
            action="staff.locked",
            object_type="staff_user",
            object_id=user.id,
            detail={"minutes": settings.signin_lock_minutes},
        )
        return SigninResult(None, SIGNIN_LOCKED)
    session.add(user)
    return SigninResult(None, SIGNIN_FAILED)


def is_locked(user: StaffUser, at: dt.datetime | None = None) -> bool:
    """True while ``user``'s account is locked."""
    return user.locked_until is not None and (at or utcnow()) < user.locked_until


def authenticate(
    session: Session, *, email: str, password: str, settings: Settings | None = None
) -> SigninResult:
    """Check e-mail and password; audited either way, counting failures towards a lock.

    A failure returns a result rather than raising so that the caller's unit of work commits
    the failure's audit event and counter.
    """
    settings = settings or get_settings()
    address = email.strip().lower()
    user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    if user is None:
        return _fail_unknown(session, address, password, settings)
    if is_locked(user):
        verify_password(_dummy_hash(), password)
        audit.record(
            session,
            actor=audit.staff_actor(user.id),
            action="signin.refused_locked",
            object_type="staff_user",
            object_id=user.id,
        )
        return SigninResult(None, SIGNIN_LOCKED)
    valid = verify_password(user.password_hash or _dummy_hash(), password)
    if not valid or not user.active or user.password_hash is None:
        return _fail_known(session, user, settings)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return _succeed(session, user, via="password")


def _succeed(session: Session, user: StaffUser, *, via: str) -> SigninResult:
    user.failed_signins = 0
    user.locked_until = None
    user.last_signin_at = utcnow()
    session.add(user)
    audit.record(
        session,
        actor=audit.staff_actor(user.id),
        action="signin.succeeded",
        object_type="staff_user",
        object_id=user.id,
        detail={"via": via},
    )
    return SigninResult(user)


def authenticate_sso(
    session: Session, *, email: str, settings: Settings | None = None
) -> SigninResult:
    """Map a verified single sign-on e-mail to an active staff account; audited either way."""
    settings = settings or get_settings()
    address = email.strip().lower()
    user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    if user is None or not user.active:
        known = user is not None
        audit.record(
            session,
            actor=f"staff:{user.id}" if user else "anonymous",
            action="signin.sso_refused",
            object_type="staff_user" if known else UNKNOWN_EMAIL,
            object_id=user.id if user else audit.keyed_hash(address, settings.require_secret_key()),
        )
        return SigninResult(None, SSO_REFUSED)
    return _succeed(session, user, via="sso")


def record_signout(session: Session, *, user_id: int, reason: str) -> None:
    """Audit the end of a staff session ("user", "idle", "lifetime" or "inactive")."""
    audit.record(
        session,
        actor=f"staff:{user_id}",
        action="signout",
        object_type="staff_user",
        object_id=user_id,
        detail={"reason": reason},
    )


SECOND_FACTOR_FAILED = "That code is not right."


def record_second_factor_failure(
    session: Session, *, user: StaffUser, settings: Settings | None = None
) -> SigninResult:
    """Count a wrong second-factor code as a failed sign-in of ``user`` (towards the lock)."""
    settings = settings or get_settings()
    audit.record(
        session,
        actor=audit.staff_actor(user.id),
        action="signin.second_factor_failed",
        object_type="staff_user",
        object_id=user.id,
    )
    result = _fail_known(session, user, settings)
    return SigninResult(
        None, SECOND_FACTOR_FAILED if result.refusal == SIGNIN_FAILED else result.refusal
    )
