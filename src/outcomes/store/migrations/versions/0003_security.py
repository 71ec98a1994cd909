"""Security: demo-account marking, explicit programme scope, forced password change, TOTP,
server-side staff sessions, recovery codes, sign-in throttles and the audit hash chain columns.

Existing managers with no scope rows saw every programme; they keep doing so through the new
explicit ``all_programmes`` flag (administrators and reviewers get it too, for clarity). From
now on an empty scope without the flag sees nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import outcomes.store.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("all_programmes", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("password_changed_at", outcomes.store.tables.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
        )
        batch_op.add_column(
            sa.Column("totp_enabled_at", outcomes.store.tables.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    # Keep what existing accounts could see: no scope rows meant every programme.
    op.execute(
        "UPDATE staff_user SET all_programmes = TRUE WHERE NOT EXISTS "
        "(SELECT 1 FROM staff_programme_scope s WHERE s.user_id = staff_user.id)"
    )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        # The defaults served the existing rows; the models set every value from now on.
        batch_op.alter_column("is_demo", server_default=None)
        batch_op.alter_column("all_programmes", server_default=None)
        batch_op.alter_column("must_change_password", server_default=None)

    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("started_at", outcomes.store.tables.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", outcomes.store.tables.UTCDateTime(), nullable=False),
        sa.Column("ended_at", outcomes.store.tables.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("used_at", outcomes.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_recovery_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_recovery_code_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "signin_throttle",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", outcomes.store.tables.UTCDateTime(), nullable=False),
        sa.Column("locked_until", outcomes.store.tables.UTCDateTime(), nullable=True),
        sa.CheckConstraint("scope IN ('account', 'ip', 'global')", name="ck_signin_throttle_scope"),
        sa.PrimaryKeyConstraint("scope", "key"),
    )

    # Hash-chain columns; migration 0004 fills them for existing events. A plain ADD COLUMN
    # (no batch rebuild, which would copy the table on SQLite; PostgreSQL's append-only
    # trigger guards rows, not the table's shape).
    for column in ("prev_hash", "chain_hash"):
        op.add_column(
            "audit_event",
            sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("prev_hash")
    op.drop_table("signin_throttle")
    with op.batch_alter_table("staff_recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_recovery_code_user_id"))
    op.drop_table("staff_recovery_code")
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_user_id"))
    op.drop_table("staff_session")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        for column in (
            "totp_last_step",
            "totp_enabled_at",
            "totp_secret",
            "password_changed_at",
            "must_change_password",
            "all_programmes",
            "is_demo",
        ):
            batch_op.drop_column(column)
