"""Demo staff accounts, one per role, with passwords derived from the secret key.

The passwords are HMAC-SHA256 of the role under ``OUTCOMES_SECRET_KEY``: ``make run`` can
print them every time and they are stored nowhere in plain text. Anyone with the secret
key can derive them, which is acceptable for a demo and a reason not to seed production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes.db import session_scope
from outcomes.demo.spec import load_institution
from outcomes.models import ROLES, StaffUser
from outcomes.passwords import check_password_rules
from outcomes.staff import create_staff_user

DEMO_ACTOR = "demo"


def demo_passwords(secret_key: str) -> dict[str, str]:
    """Role → password of its demo account, derived deterministically from ``secret_key``."""
    passwords = {}
    for role in ROLES:
        digest = hmac.new(
            secret_key.encode("utf-8"), f"outcomes-demo-staff:{role}".encode(), hashlib.sha256
        ).digest()
        letters = base64.b32encode(digest[:15]).decode("ascii").lower()  # 24 characters
        password = "-".join(letters[i : i + 6] for i in range(0, 24, 6))
        check_password_rules(password)
        passwords[role] = password
    return passwords


def demo_staff_emails(domain: str | None = None) -> dict[str, str]:
    """Role → e-mail address of its demo account (domain: the institution file's)."""
    if domain is None:
        domain = load_institution().institution.staff_email_domain
    return {role: f"{role}@{domain}" for role in ROLES}


def create_demo_staff(engine: Engine, *, secret_key: str, domain: str) -> dict[str, str]:
    """Create the demo accounts that do not exist yet; return role → e-mail of all of them."""
    emails = demo_staff_emails(domain)
    passwords = demo_passwords(secret_key)
    with session_scope(engine) as session:
        for role, email in emails.items():
            if session.exec(select(StaffUser).where(StaffUser.email == email)).first():
                continue
            create_staff_user(
                session,
                email=email,
                role=role,
                password=passwords[role],
                actor=DEMO_ACTOR,
                display_name=f"Demo {role}",
                all_programmes=True,  # the demo manager looks at the whole institution
                must_change_password=False,  # printed for the demo, not issued to a person
            )
    return emails
