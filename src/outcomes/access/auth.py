"""Staff sign-in: passwords and second factors checked, throttled and audited; single sign-on.

One path counts failures for every e-mail, whether or not an account has it
(``outcomes.access.throttle``): a windowed counter per e-mail, one per client address and one for
everyone. Known and unknown e-mails get the same answers after the same sequence of attempts,
also after waiting, and take the same work (a dummy Argon2 hash is verified for an e-mail
without a password), so neither the wording nor the timing reveals whether an account exists.
Input not shaped like an e-mail is refused before anything is hashed or recorded.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from outcomes import audit
from outcomes.access import mfa, throttle
from outcomes.access.passwords import hash_password, needs_rehash, verify_password
from outcomes.access.staff import normalise_email
from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.keys import Purpose, labelled_hmac_hex
from outcomes.store.tables import StaffUser, utcnow

SIGNIN_FAILED = "The e-mail or password is not right."
SIGNIN_LOCKED = "Sign-in is locked for a while after too many failed attempts: try again later."
ADDRESS_THROTTLED = "Too many failed sign-ins have come from your network address: try again later."
SIGNIN_PAUSED = "Password sign-in is paused after many failed attempts: try again in a minute."
NOT_AN_EMAIL = "Enter your e-mail address."
DEMO_REFUSED = "Demo accounts cannot sign in: this installation is not running the demo."
SSO_REFUSED = "Your single sign-on identity has no active staff account here: ask an administrator."
SECOND_FACTOR_FAILED = "That code is not right."

UNKNOWN_EMAIL = "unknown_email"
CLIENT_ADDRESS = "client_address"

# What a lock on each scope is announced as.
LOCK_REFUSALS = {
    throttle.ACCOUNT: SIGNIN_LOCKED,
    throttle.IP: ADDRESS_THROTTLED,
    throttle.GLOBAL: SIGNIN_PAUSED,
}


@dataclass(frozen=True)
class SigninResult:
    """The outcome of one sign-in step: the user, or the sentence to show instead.

    ``second_factor`` is True when the password was right and the account's second factor
    must follow before any session starts.
    """

    user: StaffUser | None
    refusal: str | None = None
    second_factor: bool = False

    @property
    def succeeded(self) -> bool:
        """True when the step signed someone in (or passed the password to a second factor)."""
        return self.user is not None


def audit_hash(address: str, settings: Settings) -> str:
    """How an unknown e-mail appears in the audit trail (``Purpose.AUDIT_HASH``)."""
    return labelled_hmac_hex(settings.require_secret_key(), Purpose.AUDIT_HASH, address)


def signin_address(email: str) -> str | None:
    """The normalised e-mail of a sign-in, or None when the text is not shaped like one."""
    try:
        return normalise_email(email)
    except ValidationProblem:
        return None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class _Attempt:
    """Who an attempt names: the normalised e-mail, its account if any, its throttle keys."""

    address: str
    user: StaffUser | None
    keys: throttle.Keys
    at: dt.datetime
    client: str = throttle.LOCAL_CLIENT  # the client address as counted

    def audit_object(self, settings: Settings) -> tuple[str, str]:
        """The audit object of this attempt: the account, or the keyed hash of the e-mail."""
        if self.user is not None:
            return "staff_user", str(self.user.id)
        return UNKNOWN_EMAIL, audit_hash(self.address, settings)

    def lock_object(self, scope: str, settings: Settings) -> tuple[str | None, str | None]:
        """The audit object of a lock on ``scope``: the account, the client address, none."""
        if scope == throttle.ACCOUNT:
            return self.audit_object(settings)
        if scope == throttle.IP:
            return CLIENT_ADDRESS, audit_hash(f"ip:{self.client}", settings)
        return None, None

    def actor(self) -> str:
        """The audit actor of this attempt."""
        return audit.staff_actor(self.user.id) if self.user is not None else "anonymous"


def _attempt(
    session: Session, address: str, *, client: str | None, at: dt.datetime, settings: Settings
) -> _Attempt:
    user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    keys = throttle.keys_for(settings, address=address, client=client)
    return _Attempt(address, user, keys, at, throttle.address_bucket(client))


def _refused_by_throttle(
    session: Session, attempt: _Attempt, settings: Settings
) -> SigninResult | None:
    """Refuse (audited) while a counter of ``attempt`` is locked; nothing is checked then."""
    scope = throttle.refusing_scope(session, attempt.keys, settings, attempt.at)
    if scope is None:
        return None
    object_type, object_id = attempt.audit_object(settings)
    audit.record(
        session,
        actor=attempt.actor(),
        action="signin.refused_locked",
        object_type=object_type,
        object_id=object_id,
        detail={"scope": scope},
    )
    return SigninResult(None, LOCK_REFUSALS[scope])


def _fail(
    session: Session,
    attempt: _Attempt,
    settings: Settings,
    *,
    action: str = "signin.failed",
    refusal: str = SIGNIN_FAILED,
) -> SigninResult:
    """Audit a failure, count it on every counter and audit any lock it caused; the refusal.

    The audit record comes first: on PostgreSQL it takes the chain lock, which every unit of
    work here takes before any throttle row, so two sign-ins never wait on each other in turn.
    """
    object_type, object_id = attempt.audit_object(settings)
    audit.record(
        session,
        actor=attempt.actor(),
        action=action,
        object_type=object_type,
        object_id=object_id,
    )
    locked = throttle.record_failure(session, attempt.keys, settings, attempt.at)
    account_lock = locked.get(throttle.ACCOUNT)
    if attempt.user is not None and account_lock is not None:
        attempt.user.locked_until = account_lock.locked_until  # shown on the users page
        session.add(attempt.user)
    for scope, counter in locked.items():
        until = counter.locked_until or attempt.at
        lock_type, lock_id = attempt.lock_object(scope, settings)
        audit.record(
            session,
            actor="system",
            action="signin.locked",
            object_type=lock_type,
            object_id=lock_id,
            detail={
                "scope": scope,
                "seconds": round((until - attempt.at).total_seconds()),
                "failures": counter.failures,
            },
        )
    for scope in throttle.SCOPES:
        if scope in locked:
            return SigninResult(None, LOCK_REFUSALS[scope])
    return SigninResult(None, refusal)


def _demo_refused(
    session: Session, user: StaffUser | None, settings: Settings, *, via: str
) -> SigninResult | None:
    """Refuse a demo account outside demo mode (audited), whatever the password."""
    if user is None or not user.is_demo or settings.demo:
        return None
    _audit_user(session, user, "signin.refused_demo", {"via": via})
    return SigninResult(None, DEMO_REFUSED)


def _audit_user(
    session: Session, user: StaffUser, action: str, detail: dict[str, str] | None = None
) -> None:
    """Record a sign-in step of ``user``, by ``user``."""
    audit.record(
        session,
        actor=audit.staff_actor(user.id),
        action=action,
        object_type="staff_user",
        object_id=user.id,
        detail=detail,
    )


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    settings: Settings,
    client: str | None = None,
    at: dt.datetime | None = None,
) -> SigninResult:
    """Check e-mail and password from ``client`` at ``at``; audited, counted when wrong.

    A failure returns a result rather than raising so that the caller's unit of work commits
    the failure's audit event and counters. A right password of an account with a second
    factor returns the user with ``second_factor`` set; the sign-in is finished (and the
    account's counter cleared) by :func:`check_second_factor`.
    """
    address = signin_address(email)
    if address is None:
        return SigninResult(None, NOT_AN_EMAIL)
    attempt = _attempt(session, address, client=client, at=at or utcnow(), settings=settings)
    refused = _refused_by_throttle(session, attempt, settings) or _demo_refused(
        session, attempt.user, settings, via="password"
    )
    if refused is not None:
        return refused
    user = attempt.user
    stored = user.password_hash if user is not None else None
    valid = verify_password(stored or _dummy_hash(), password)  # one Argon2 check either way
    if user is None or stored is None or not valid or not user.active:
        return _fail(session, attempt, settings)
    if needs_rehash(stored):
        user.password_hash = hash_password(password)
        session.add(user)
    if mfa.has_second_factor(user):
        _audit_user(session, user, "signin.password_passed")
        return SigninResult(user, second_factor=True)
    return _succeed(session, attempt, via="password")


def check_second_factor(
    session: Session,
    *,
    user_id: int,
    code: str,
    settings: Settings,
    client: str | None = None,
    at: dt.datetime | None = None,
) -> SigninResult:
    """Finish a password sign-in with a TOTP or recovery code; a wrong one counts as a failure.

    The same counters as a wrong password apply (the account's e-mail, the client address,
    everyone), so a known password does not buy unlimited guesses at the code.
    """
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return SigninResult(None, SIGNIN_FAILED)
    attempt = _attempt(session, user.email, client=client, at=at or utcnow(), settings=settings)
    refused = _refused_by_throttle(session, attempt, settings)
    if refused is not None:
        return refused
    if not mfa.verify_second_factor(
        session, user=user, code=code, at=attempt.at, settings=settings
    ):
        return _fail(
            session,
            attempt,
            settings,
            action="signin.second_factor_failed",
            refusal=SECOND_FACTOR_FAILED,
        )
    _audit_user(session, user, "signin.second_factor_passed")
    return _succeed(session, attempt, via="password")


def _succeed(session: Session, attempt: _Attempt, *, via: str) -> SigninResult:
    user = attempt.user
    assert user is not None
    user.failed_signins = 0
    user.locked_until = None
    user.last_signin_at = attempt.at
    session.add(user)
    _audit_user(session, user, "signin.succeeded", {"via": via})
    throttle.clear_account(session, attempt.keys.account)  # after the chain lock, see _fail
    return SigninResult(user)


def authenticate_sso(
    session: Session,
    *,
    email: str,
    settings: Settings,
    at: dt.datetime | None = None,
) -> SigninResult:
    """Map a verified single sign-on e-mail to an active staff account; audited either way.

    The password throttles do not apply: the identity provider has checked the person, and
    single sign-on stays open to an administrator whose password sign-in is being attacked.
    """
    address = signin_address(email)
    user = None
    if address is not None:
        user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    if user is None or not user.active:
        audit.record(
            session,
            actor=audit.staff_actor(user.id) if user else "anonymous",
            action="signin.sso_refused",
            object_type="staff_user" if user else UNKNOWN_EMAIL,
            object_id=user.id if user else (address and audit_hash(address, settings)),
        )
        return SigninResult(None, SSO_REFUSED)
    refused = _demo_refused(session, user, settings, via="sso")
    if refused is not None:
        return refused
    keys = throttle.keys_for(settings, address=user.email, client=None)
    return _succeed(session, _Attempt(user.email, user, keys, at or utcnow()), via="sso")


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
