"""Staff accounts: creating users and changing their roles, each change audited."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from outcomes import audit
from outcomes.errors import IntegrityProblem, ValidationProblem
from outcomes.models import ROLES, StaffUser
from outcomes.passwords import check_password_rules, hash_password

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
) -> StaffUser:
    """Create a staff account (password None: single sign-on only)."""
    address = normalise_email(email)
    stored_role = normalise_role(role)
    if session.exec(select(StaffUser).where(StaffUser.email == address)).first() is not None:
        raise IntegrityProblem(f"A staff user with the e-mail {address} already exists.")
    password_hash = None
    if password is not None:
        check_password_rules(password, email=address)
        password_hash = hash_password(password)
    user = StaffUser(
        email=address, role=stored_role, password_hash=password_hash, display_name=display_name
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.created",
        object_type="staff_user",
        object_id=user.id,
        detail={"role": stored_role},
    )
    return user
