"""Demo staff accounts, one per role, with passwords derived from the secret key.

They exist only in demo mode (``OUTCOMES_DEMO=on``, which ``make run`` sets): outside it no
command creates them and sign-in refuses any that exist. Each password is the labelled HMAC
of the role under the secret key's ``Purpose.DEMO_PASSWORD`` subkey (``outcomes.keys``), so
``make run`` can print them every time and they are stored nowhere in plain text. No other
digest the product makes or shows (an audit row's hash of a typed e-mail, say) is keyed by
that subkey, so none of them can be turned into a demo password. Anyone with the secret key
can derive them, which is acceptable for a demo and a reason to leave demo mode off in
production.
"""

from __future__ import annotations

import base64

from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes import audit
from outcomes.access.passwords import check_password_rules, hash_password, verify_password
from outcomes.access.staff import create_staff_user
from outcomes.config import Settings
from outcomes.demo.spec import load_institution
from outcomes.errors import OutcomesError
from outcomes.keys import Purpose, labelled_hmac
from outcomes.store.engine import session_scope
from outcomes.store.tables import StaffUser
from outcomes.vocab import ROLES

DEMO_ACTOR = "demo"
DEMO_MODE_OFF = "No demo sign-ins were created because OUTCOMES_DEMO is off."


class DemoModeOff(OutcomesError):
    """Demo sign-ins were asked for outside demo mode."""


def demo_passwords(secret_key: str) -> dict[str, str]:
    """Role → password of its demo account, derived deterministically from ``secret_key``."""
    passwords = {}
    for role in ROLES:
        digest = labelled_hmac(secret_key, Purpose.DEMO_PASSWORD, role)
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


def demo_staff_key(settings: Settings) -> str | None:
    """The key demo passwords derive from, or None when no demo account may be created.

    None outside demo mode, and when no secret key is set.
    """
    if not settings.demo or settings.secret_key is None:
        return None
    return settings.require_secret_key()


def require_demo_mode(settings: Settings) -> str:
    """The secret key, when demo sign-ins may be shown; refuse outside demo mode."""
    if not settings.demo:
        raise DemoModeOff(
            "There are no demo sign-ins because OUTCOMES_DEMO is off: "
            "set OUTCOMES_DEMO=on to use the demo accounts."
        )
    return settings.require_secret_key()


def _bring_up_to_date(user: StaffUser, password: str) -> bool:
    """Mark ``user`` as the demo account with ``password``; True when anything changed."""
    stale = not (user.password_hash and verify_password(user.password_hash, password))
    if stale:
        user.password_hash = hash_password(password)
    changed = stale or not user.is_demo or not user.all_programmes or user.must_change_password
    user.is_demo = user.all_programmes = True
    user.must_change_password = False
    return changed


def create_demo_staff(engine: Engine, *, secret_key: str, domain: str) -> dict[str, str]:
    """Create the demo accounts, or bring existing ones up to date; return role → e-mail.

    Only for demo mode (see ``demo_staff_key``). Demo accounts are marked ``is_demo``, see
    every programme and need no password change. An account already at a demo address (one
    made before demo accounts were marked, or under an earlier derivation) is marked too
    and given the derived password, so that the sign-ins printed for the demo work.
    """
    emails = demo_staff_emails(domain)
    passwords = demo_passwords(secret_key)
    with session_scope(engine) as session:
        for role, email in emails.items():
            user = session.exec(select(StaffUser).where(StaffUser.email == email)).first()
            if user is None:
                create_staff_user(
                    session,
                    email=email,
                    role=role,
                    password=passwords[role],
                    actor=DEMO_ACTOR,
                    display_name=f"Demo {role}",
                    must_change_password=False,  # printed for the demo, not issued to a person
                    is_demo=True,
                    all_programmes=True,
                )
            elif _bring_up_to_date(user, passwords[role]):
                session.add(user)
                audit.record(
                    session,
                    actor=DEMO_ACTOR,
                    action="staff.demo_account_updated",
                    object_type="staff_user",
                    object_id=user.id,
                )
    return emails
