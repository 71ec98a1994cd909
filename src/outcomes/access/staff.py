"""Staff accounts: users, roles, activation, locks, programme scope, passwords; audited."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, select

from outcomes import audit
from outcomes.access import mfa, permissions, staff_sessions, throttle
from outcomes.access.accounts import staff_user
from outcomes.access.passwords import check_password_rules, hash_password, verify_password
from outcomes.config import Settings
from outcomes.errors import AccessDenied, IntegrityProblem, NotFound, ValidationProblem
from outcomes.store.tables import Programme, StaffProgrammeScope, StaffUser, utcnow
from outcomes.vocab import ROLES

# Deliberately loose: the address only has to be deliverable-looking; SMTP decides the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ROLE_ALIASES = {
    "admin": "admin",
    "administrator": "admin",
    "manager": "manager",
    "reviewer": "reviewer",
}


def normalise_email(email: str) -> str:
    """The canonical form of a staff e-mail (trimmed, lower case), or a clear error."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise ValidationProblem(f"'{email}' is not a valid e-mail address.")
    return value


def normalise_role(role: str) -> str:
    """The stored role name for ``role``, or a clear error listing the roles."""
    value = ROLE_ALIASES.get(role.strip().lower())
    if value is None:
        raise ValidationProblem(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
    return value


def create_staff_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str | None,
    actor: str,
    display_name: str | None = None,
    programme_codes: list[str] | None = None,
    all_programmes: bool = False,
    must_change_password: bool = True,
    is_demo: bool = False,
) -> StaffUser:
    """Create a staff account (password None: single sign-on only) with its programme scope.

    A manager sees the ``programme_codes`` named, or every programme with ``all_programmes``;
    with neither, nothing until an administrator assigns programmes (fail closed).
    A password typed by an administrator is temporary by default (``must_change_password``):
    it works for one sign-in, which may only choose the user's own password. ``is_demo``
    marks a demo account (``outcomes.demo.staff_accounts``), which works only in demo mode.
    """
    address = normalise_email(email)
    stored_role = normalise_role(role)
    if session.exec(select(StaffUser).where(StaffUser.email == address)).first() is not None:
        raise IntegrityProblem(f"A staff user with the e-mail {address} already exists.")
    password_hash = None
    if password is not None:
        check_password_rules(password, email=address)
        password_hash = hash_password(password)
    user = StaffUser(
        email=address,
        role=stored_role,
        password_hash=password_hash,
        display_name=display_name,
        must_change_password=password_hash is not None and must_change_password,
        is_demo=is_demo,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.created",
        object_type="staff_user",
        object_id=user.id,
        detail={"role": stored_role, "demo": True} if is_demo else {"role": stored_role},
    )
    if (programme_codes or all_programmes) and user.id is not None:
        set_programme_scope(
            session,
            user_id=user.id,
            programme_codes=programme_codes or [],
            all_programmes=all_programmes,
            actor=actor,
        )
    return user


def _not_oneself(actor: str, user_id: int, what: str) -> None:
    # An administrator locking themselves out would leave nobody to undo it.
    if actor == audit.staff_actor(user_id):
        raise ValidationProblem(f"You cannot {what}: ask another administrator.")


def active_user(session: Session, user_id: int) -> StaffUser | None:
    """The staff user ``user_id`` if the account exists and is active, else None."""
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.active else None


def staff_frame(session: Session, at: dt.datetime | None = None) -> pd.DataFrame:
    """Staff accounts for the users page: no password hashes, programme scope as codes.

    "locked until" shows a sign-in lock still running at ``at`` (default now).
    """
    at = at or utcnow()
    users = session.exec(select(StaffUser).order_by(col(StaffUser.email))).all()
    scopes: dict[int, list[str]] = {}
    rows = session.execute(
        sa.select(col(StaffProgrammeScope.user_id), col(Programme.code)).join(
            Programme, col(Programme.id) == col(StaffProgrammeScope.programme_id)
        )
    ).all()
    for user_id, code in rows:
        scopes.setdefault(user_id, []).append(code)
    return pd.DataFrame(
        [
            {
                "id": u.id,
                "email": u.email,
                "name": u.display_name or "",
                "role": u.role,
                "active": u.active,
                "locked until": u.locked_until if _locked_at(u, at) else None,
                "programmes": _scope_label(u, scopes.get(u.id or 0, [])),
                "last sign-in": u.last_signin_at,
            }
            for u in users
        ],
        columns=[
            "id",
            "email",
            "name",
            "role",
            "active",
            "locked until",
            "programmes",
            "last sign-in",
        ],
    )


def _scope_label(user: StaffUser, codes: list[str]) -> str:
    """What a user's programme scope is, in the users table."""
    if not permissions.is_programme_scoped(user.role) or user.all_programmes:
        return "all"
    return ", ".join(sorted(codes)) or "none"


def _locked_at(user: StaffUser, at: dt.datetime) -> bool:
    return user.locked_until is not None and at < user.locked_until


def change_role(session: Session, *, user_id: int, role: str, actor: str) -> StaffUser:
    """Give staff user ``user_id`` a new role; audited with the old and new role."""
    user = staff_user(session, user_id)
    _not_oneself(actor, user_id, "change your own role")
    new_role = normalise_role(role)
    old_role = user.role
    if new_role == old_role:
        return user
    user.role = new_role
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="staff.role_changed",
        object_type="staff_user",
        object_id=user.id,
        detail={"from": old_role, "to": new_role},
    )
    return user


def set_active(session: Session, *, user_id: int, active: bool, actor: str) -> StaffUser:
    """Deactivate or reactivate a staff account; audited."""
    user = staff_user(session, user_id)
    _not_oneself(actor, user_id, "deactivate your own account")
    if user.active == active:
        return user
    user.active = active
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="staff.reactivated" if active else "staff.deactivated",
        object_type="staff_user",
        object_id=user.id,
    )
    return user


def _clear_lock(session: Session, user: StaffUser, settings: Settings) -> None:
    """Delete the account's failure counter and its lock (after the action's audit record)."""
    throttle.clear_account(session, throttle.account_key(settings, user.email))
    user.locked_until = None
    user.failed_signins = 0
    session.add(user)


def unlock(session: Session, *, user_id: int, actor: str, settings: Settings) -> StaffUser:
    """Lift a sign-in lock and forget the account's failed sign-ins; audited."""
    user = staff_user(session, user_id)
    audit.record(
        session, actor=actor, action="staff.unlocked", object_type="staff_user", object_id=user.id
    )
    _clear_lock(session, user, settings)
    return user


def set_programme_scope(
    session: Session,
    *,
    user_id: int,
    programme_codes: list[str],
    actor: str,
    all_programmes: bool = False,
) -> set[int]:
    """Limit a manager to the named programmes, or give them every one; audited.

    Naming no programme without ``all_programmes`` leaves the manager seeing nothing.
    """
    user = staff_user(session, user_id)
    codes = sorted({c.strip() for c in programme_codes if c.strip()})
    if codes and all_programmes:
        raise ValidationProblem("Choose either all programmes or named programmes, not both.")
    programmes = session.exec(select(Programme).where(col(Programme.code).in_(codes))).all()
    missing = set(codes) - {p.code for p in programmes}
    if missing:
        raise NotFound(f"Unknown programme code(s): {', '.join(sorted(missing))}.")
    if codes and not permissions.is_programme_scoped(user.role):
        raise ValidationProblem("Only managers can be limited to named programmes.")
    session.execute(
        sa.delete(StaffProgrammeScope).where(col(StaffProgrammeScope.user_id) == user.id)
    )
    ids = {p.id for p in programmes if p.id is not None}
    for programme_id in sorted(ids):
        session.add(StaffProgrammeScope(user_id=user_id, programme_id=programme_id))
    user.all_programmes = all_programmes
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="staff.scope_changed",
        object_type="staff_user",
        object_id=user.id,
        detail={"programmes": sorted(ids), "all_programmes": all_programmes},
    )
    return ids


def programme_scope(session: Session, user_id: int) -> set[int] | None:
    """The programme ids a staff user may see; None means every programme.

    Administrators and reviewers see every programme; a manager sees every programme only
    with the explicit ``all_programmes`` flag, else exactly their scope rows, so a manager
    with neither (never assigned, or whose programmes were deleted) sees none. An unknown
    or inactive user sees none.
    """
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return set()
    if permissions.sees_whole_institution(user.role):
        return None
    if not permissions.is_programme_scoped(user.role):
        return set()  # a role that is neither: fail closed
    if user.all_programmes:
        return None
    ids = session.exec(
        select(StaffProgrammeScope.programme_id).where(StaffProgrammeScope.user_id == user_id)
    ).all()
    return set(ids)


def programme_choices(session: Session) -> list[str]:
    """Every programme code, for choosing a manager's scope."""
    return list(session.exec(select(Programme.code).order_by(col(Programme.code))).all())


NO_PROGRAMMES = "You are not assigned to any programme; ask an administrator."


def viewer_scope(session: Session, role: str, user_id: int | None) -> set[int] | None:
    """The programmes a viewer may see: everything (None) for administrators and reviewers,
    a manager's scope, nothing for anyone else or a manager without a user id (fail closed).
    """
    if permissions.sees_whole_institution(role):
        return None
    if permissions.is_programme_scoped(role) and user_id is not None:
        return programme_scope(session, user_id)
    return set()


def assigned_scope(session: Session, role: str, user_id: int | None) -> set[int] | None:
    """``viewer_scope``, or ``AccessDenied`` with one sentence when it is empty."""
    scope = viewer_scope(session, role, user_id)
    if scope is not None and not scope:
        raise AccessDenied(NO_PROGRAMMES)
    return scope


# --- passwords, sessions and the second factor ---------------------------------------------


def _temporary_password() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 random bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def reset_password(
    session: Session, *, user_id: int, actor: str, settings: Settings, at: dt.datetime | None = None
) -> str:
    """Issue a temporary password (returned once) and end all of the user's sessions; audited.

    The password is generated, never typed by the administrator, works for one sign-in, and
    that sign-in can only choose the user's own password.
    """
    user = staff_user(session, user_id)
    _not_oneself(actor, user_id, "reset your own password (use Your account to change it)")
    at = at or utcnow()
    temporary = _temporary_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    session.add(user)
    staff_sessions.end_sessions_audited(
        session, user_id=user_id, reason="password_reset", actor=actor, at=at
    )
    _clear_lock(session, user, settings)  # the new password must not wait out an old lock
    return temporary


def use_temporary_password(session: Session, user: StaffUser) -> None:
    """Spend a temporary password at the sign-in it was used for (it works only once)."""
    if user.must_change_password:
        user.password_hash = None
        session.add(user)


def change_password(
    session: Session,
    *,
    user_id: int,
    current: str,
    new: str,
    keep_token: str | None,
    settings: Settings,
    at: dt.datetime | None = None,
) -> int:
    """Change a user's own password and end their other sessions; how many were ended.

    ``current`` must be right unless the user is choosing a password after a temporary one
    (spent at this session's sign-in, so this session is the proof). Audited.
    """
    user = staff_user(session, user_id)
    at = at or utcnow()
    if not user.must_change_password:
        if user.password_hash is None:
            raise ValidationProblem("Your account signs in with single sign-on only.")
        if not verify_password(user.password_hash, current):
            raise ValidationProblem("Your current password is not right.")
        if new == current:
            raise ValidationProblem("The new password must differ from the current one.")
    check_password_rules(new, email=user.email)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = at
    session.add(user)
    return staff_sessions.end_sessions_audited(
        session,
        user_id=user_id,
        reason="password_changed",
        actor=audit.staff_actor(user_id),
        at=at,
        except_hash=staff_sessions.token_hash(keep_token, settings=settings)
        if keep_token
        else None,
    )


def reset_second_factor(
    session: Session, *, user_id: int, actor: str, at: dt.datetime | None = None
) -> StaffUser:
    """Remove a user's second factor and recovery codes, ending their sessions; audited."""
    user = staff_user(session, user_id)
    _not_oneself(actor, user_id, "reset your own second factor")
    mfa.clear_second_factor(session, user)
    staff_sessions.end_sessions_audited(
        session, user_id=user_id, reason="second_factor_reset", actor=actor, at=at or utcnow()
    )
    return user


def user_by_email(session: Session, email: str) -> StaffUser:
    """The staff user with ``email``, or ``NotFound``."""
    address = normalise_email(email)
    user = session.exec(select(StaffUser).where(StaffUser.email == address)).first()
    if user is None:
        raise NotFound(f"There is no staff user with the e-mail {address}.")
    return user


@dataclass(frozen=True)
class AccountStatus:
    """What the "Your account" page shows about the signed-in user."""

    email: str
    role: str
    has_password: bool
    must_change_password: bool
    second_factor: bool
    second_factor_required: bool
    recovery_codes_left: int


def account_status(
    session: Session, *, user_id: int, via: str, settings: Settings
) -> AccountStatus:
    """The signed-in user's password and second-factor state."""
    user = staff_user(session, user_id)
    return AccountStatus(
        email=user.email,
        role=user.role,
        has_password=user.password_hash is not None,
        must_change_password=user.must_change_password,
        second_factor=mfa.has_second_factor(user),
        second_factor_required=mfa.required_for(user, via=via, settings=settings),
        recovery_codes_left=mfa.recovery_codes_left(session, user_id),
    )


def user_for_sso(session: Session, email: str) -> StaffUser | None:
    """The staff user a single sign-on e-mail names (any case), or None."""
    address = email.strip().lower()
    return session.exec(select(StaffUser).where(StaffUser.email == address)).first()
