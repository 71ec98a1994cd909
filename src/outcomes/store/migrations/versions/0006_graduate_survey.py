"""Graduate survey: declining an invitation, opting out of contact, bad-link throttling.

- ``invitation.declined_at``: the graduate declined this survey on its first page (the
  invitation counts as a refusal; no reminders follow).
- ``learner_identity.contact_opted_out_at``: "don't contact me again" — no invitation or
  reminder is sent to this person in any wave. Contact data, so it lives with the identity.
- ``response.progress``: the privacy-notice version consented to, the sections saved and
  the soft-required questions already nudged about, so a survey resumes where it was left.
- ``response_identifying``: answers naming an employer or a job title, stored apart from
  the analysis answers (the instruments' privacy notice says so).
- ``signin_throttle`` scope ``link``: failed survey-link openings per client address share
  the sign-in counters' table and rules machinery.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outcomes.store.tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as every revision carries its own DDL.
OLD_SCOPES = "scope IN ('account', 'ip', 'global')"
NEW_SCOPES = "scope IN ('account', 'ip', 'global', 'link')"

_THROTTLE_SQLITE = """
CREATE TABLE signin_throttle (
    scope VARCHAR(20) NOT NULL,
    key VARCHAR(64) NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at DATETIME NOT NULL,
    locked_until DATETIME,
    CONSTRAINT ck_signin_throttle_scope CHECK ({check}),
    PRIMARY KEY (scope, key)
)
"""


def _replace_scope_check(check: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a CHECK constraint: rebuild the (small, short-lived) table.
        op.execute("ALTER TABLE signin_throttle RENAME TO signin_throttle_old")
        op.execute(_THROTTLE_SQLITE.format(check=check))
        op.execute(
            "INSERT INTO signin_throttle (scope, key, failures, window_started_at, locked_until) "
            "SELECT scope, key, failures, window_started_at, locked_until "
            "FROM signin_throttle_old WHERE " + check
        )
        op.execute("DROP TABLE signin_throttle_old")
    else:
        op.drop_constraint("ck_signin_throttle_scope", "signin_throttle", type_="check")
        op.execute(f"DELETE FROM signin_throttle WHERE NOT ({check})")
        op.create_check_constraint("ck_signin_throttle_scope", "signin_throttle", check)


def upgrade() -> None:
    op.add_column(
        "invitation",
        sa.Column("declined_at", outcomes.store.tables.UTCDateTime(), nullable=True),
    )
    op.add_column(
        "learner_identity",
        sa.Column("contact_opted_out_at", outcomes.store.tables.UTCDateTime(), nullable=True),
    )
    op.add_column("response", sa.Column("progress", sa.JSON(), nullable=True))
    op.create_table(
        "response_identifying",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=4000), nullable=False),
        sa.Column("saved_at", outcomes.store.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("response_id", "question_id"),
    )
    _replace_scope_check(NEW_SCOPES)


def downgrade() -> None:
    _replace_scope_check(OLD_SCOPES)
    op.drop_table("response_identifying")
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild that would lose the triggers on
    # these tables.
    op.drop_column("response", "progress")
    op.drop_column("learner_identity", "contact_opted_out_at")
    op.drop_column("invitation", "declined_at")
