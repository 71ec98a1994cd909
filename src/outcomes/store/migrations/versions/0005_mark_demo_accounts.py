"""Mark the demo staff accounts created before demo mode existed.

Demo accounts made before revision 0003 carry ``is_demo = false``, so sign-in outside demo
mode would not refuse them, and their passwords were derived with the raw secret key (the
reviewer-to-administrator hole that demo mode closed). This revision marks every staff
account the demo created — the audit trail's ``staff.created`` event by the ``demo`` actor —
as a demo account: outside demo mode sign-in refuses it, and in demo mode
``outcomes demo prepare`` gives it a password from the demo-password subkey.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The actor name the demo generator has always recorded (outcomes.demo.staff_accounts).
DEMO_ACTOR = "demo"


def upgrade() -> None:
    op.execute(
        "UPDATE staff_user SET is_demo = TRUE WHERE is_demo = FALSE AND CAST(id AS TEXT) IN ("
        "SELECT object_id FROM audit_event WHERE action = 'staff.created' "
        f"AND object_type = 'staff_user' AND actor = '{DEMO_ACTOR}')"
    )


def downgrade() -> None:
    # Which accounts were marked here is not recorded; leaving the marks is the safe side.
    pass
