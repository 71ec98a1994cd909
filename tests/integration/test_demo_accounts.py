"""Demo staff accounts: only in demo mode, marked as such, and not derivable from the audit trail.

The escalation this guards against: demo passwords were the base32 of HMAC(secret key, label
of the role), and a failed sign-in with an unknown e-mail left HMAC(secret key, typed text)
in the audit trail. Typing the admin's label as the e-mail and exporting the trail as a
reviewer gave the administrator's password.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from outcomes import audit
from outcomes.access import auth
from outcomes.access.audit_view import export_audit_csv
from outcomes.access.passwords import hash_password, verify_password
from outcomes.access.staff import create_staff_user
from outcomes.cli.main import app
from outcomes.config import Settings, get_settings
from outcomes.demo.staff_accounts import (
    DEMO_MODE_OFF,
    create_demo_staff,
    demo_passwords,
    demo_staff_emails,
)
from outcomes.errors import OutcomesError
from outcomes.store.engine import session_scope
from outcomes.store.migrate import alembic_config, upgrade
from outcomes.store.tables import StaffUser
from tests import factories
from tests.conftest import TEST_SECRET_KEY

DOMAIN = "demo.outcomes.example"
LABEL = "outcomes-demo-staff:admin"  # what the old demo password of the admin was a digest of


def demo_settings(**extra: str) -> Settings:
    return get_settings(
        {
            "OUTCOMES_SECRET_KEY": TEST_SECRET_KEY,
            "OUTCOMES_DEMO": "on",
            # Many wrong passwords in a row must not lock the account: the last sign-in of
            # the test uses the right one, to show that the wrong ones were judged, not locked.
            "OUTCOMES_SIGNIN_MAX_FAILURES": "100",
            **extra,
        }
    )


def as_old_password(digest: bytes) -> str:
    """The old derivation's format: base32 of the first 15 bytes, lowercase, in groups of 6."""
    letters = base64.b32encode(digest[:15]).decode("ascii").lower()
    return "-".join(letters[i : i + 6] for i in range(0, 24, 6))


def candidates(export: bytes) -> set[str]:
    """Every password a reader of the export could derive from its object ids."""
    derived = set()
    for row in csv.DictReader(io.StringIO(export.decode("utf-8"))):
        try:
            digest = bytes.fromhex(row["object_id"].lstrip("'"))
        except ValueError:  # a staff user's number, or blank
            continue
        letters = base64.b32encode(digest[:15]).decode("ascii")
        derived |= {as_old_password(digest), letters, letters.lower()}
    return derived


def sign_in(engine: Engine, email: str, password: str, settings: Settings) -> bool:
    """Try the sign-in form's call; True when it signed someone in."""
    with session_scope(engine) as session:
        try:
            result = auth.authenticate(session, email=email, password=password, settings=settings)
        except OutcomesError:  # refused before any account was looked at
            return False
        return result.succeeded


def test_a_reviewer_cannot_derive_an_administrators_password_from_the_audit_trail(
    engine: Engine,
) -> None:
    settings = demo_settings()
    emails = create_demo_staff(engine, secret_key=TEST_SECRET_KEY, domain=DOMAIN)
    admin_email = emails["admin"]

    # The attack: the admin's label typed as the e-mail on the sign-in form...
    assert not sign_in(engine, LABEL, "anything at all, really", settings)
    # ...and, should the form ever let it through to the trail, the digest the old code stored.
    old_digest = hmac.new(TEST_SECRET_KEY.encode(), LABEL.encode(), hashlib.sha256).digest()
    with session_scope(engine) as session:
        factories.unknown_email_failure(session, old_digest.hex())
        reviewer_export = export_audit_csv(session, role="reviewer", actor="staff:3")
        admin_export = export_audit_csv(session, role="admin", actor="staff:1")
    # Under the old derivation this digest WAS the admin's password: the test can fail.
    assert as_old_password(old_digest) in candidates(admin_export)

    assert old_digest.hex() not in reviewer_export.decode()
    for password in candidates(reviewer_export) | candidates(admin_export):
        assert not sign_in(engine, admin_email, password, settings), password
    assert sign_in(engine, admin_email, demo_passwords(TEST_SECRET_KEY)["admin"], settings)


def test_demo_accounts_are_marked_see_every_programme_and_need_no_password_change(
    engine: Engine,
) -> None:
    emails = create_demo_staff(engine, secret_key=TEST_SECRET_KEY, domain=DOMAIN)
    assert emails == demo_staff_emails(DOMAIN)
    passwords = demo_passwords(TEST_SECRET_KEY)
    with session_scope(engine) as session:
        users = {u.role: u for u in session.exec(select(StaffUser))}
        assert set(users) == {"admin", "manager", "reviewer"}
        for role, user in users.items():
            assert (user.email, user.is_demo, user.all_programmes) == (emails[role], True, True)
            assert not user.must_change_password
            assert verify_password(user.password_hash, passwords[role])


def test_an_existing_demo_address_is_brought_up_to_the_current_derivation(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            StaffUser(
                email=f"admin@{DOMAIN}",
                role="admin",
                password_hash=hash_password("an older derivation's password"),
            )
        )
    create_demo_staff(engine, secret_key=TEST_SECRET_KEY, domain=DOMAIN)
    create_demo_staff(engine, secret_key=TEST_SECRET_KEY, domain=DOMAIN)  # idempotent
    with session_scope(engine) as session:
        admin = session.exec(select(StaffUser).where(StaffUser.role == "admin")).one()
        assert (admin.is_demo, admin.all_programmes) == (True, True)
        assert verify_password(admin.password_hash, demo_passwords(TEST_SECRET_KEY)["admin"])
        updates = audit.audit_frame(session, action="staff.demo_account_updated")
    assert list(updates["object_id"]) == [str(admin.id)], "audited once, when it changed"


def _staff_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(StaffUser)).all())


def test_seed_outside_demo_mode_loads_the_data_without_staff_accounts(app_engine: Engine) -> None:
    result = CliRunner().invoke(app, ["seed", "--learners", "60", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "Demo institution loaded" in result.output
    assert DEMO_MODE_OFF in result.output
    assert demo_passwords(TEST_SECRET_KEY)["admin"] not in result.output
    assert _staff_count(app_engine) == 0


def test_seed_in_demo_mode_creates_and_prints_the_demo_sign_ins(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DEMO", "on")
    result = CliRunner().invoke(app, ["seed", "--learners", "60", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert demo_passwords(TEST_SECRET_KEY)["admin"] in result.output
    assert _staff_count(app_engine) == 3


def test_demo_logins_refuses_outside_demo_mode(
    app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = CliRunner().invoke(app, ["demo", "logins"])
    assert refused.exit_code == 1
    assert "OUTCOMES_DEMO is off" in refused.output
    assert demo_passwords(TEST_SECRET_KEY)["admin"] not in refused.output
    monkeypatch.setenv("OUTCOMES_DEMO", "on")
    shown = CliRunner().invoke(app, ["demo", "logins"])
    assert shown.exit_code == 0, shown.output
    assert demo_passwords(TEST_SECRET_KEY)["admin"] in shown.output


def test_migration_0005_marks_the_demo_accounts_made_before_demo_mode(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    with session_scope(engine) as session:
        for actor, email in (("demo", "admin@demo.outcomes.example"), ("cli:ops", "a@uni.example")):
            create_staff_user(
                session, email=email, role="admin", password=None, actor=actor, is_demo=False
            )
    upgrade(engine)
    with engine.connect() as conn:
        marked = dict(conn.execute(sa.text("SELECT email, is_demo FROM staff_user")).all())
    assert {email: bool(flag) for email, flag in marked.items()} == {
        "admin@demo.outcomes.example": True,
        "a@uni.example": False,
    }
