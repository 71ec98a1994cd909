"""Fieldwork: waves with a population and a reminder plan, the mail outbox, other sources.

- ``survey_wave``: ``include_non_completers``, the reminder plan (``max_reminders``,
  ``reminder_gap_days``), per-wave ``response_rate_target`` / ``knowledge_rate_target`` and
  ``closed_at``.
- ``wave_programme``: the programmes a wave surveys (several; none: every programme). The
  single ``survey_wave.programme_id`` of 0001 is copied here and no longer read.
- ``invitation.skipped_reason`` (``opted_out`` | ``erased``): recorded by a launch for a
  graduate who will never be contacted, so the knowledge rate keeps its true denominator;
  ``invitation.bounced_at``: the address was refused permanently.
- ``mail_message``: the outbox, one row per planned message with its send state.
- ``outcome``: ``recorded_by``, ``recorded_at`` and ``note`` for outcomes staff learned from
  another source, and the source ``phone``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outcomes.store.tables

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as every revision carries its own DDL.
OLD_SOURCES = "source IN ('survey', 'staff_verified', 'employer', 'public_profile')"
NEW_SOURCES = "source IN ('survey', 'staff_verified', 'employer', 'public_profile', 'phone')"
SKIP_REASONS = "skipped_reason IN ('opted_out', 'erased')"
MAIL_KINDS = "kind IN ('invitation', 'reminder')"
MAIL_STATUSES = (
    "status IN ('pending', 'claimed', 'sending', 'sent', 'failed_temporary', 'bounced', "
    "'cancelled', 'uncertain')"
)


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, outcomes.store.tables.UTCDateTime(), nullable=nullable)


def _rebuild_sqlite_table(table: str, alter: object) -> None:
    """Rebuild ``table`` (SQLite cannot alter a CHECK constraint) and put back its triggers.

    Alembic's batch mode copies the table and its indexes but not its triggers (the analysis
    table's staleness triggers live on ``outcome``), so they are read from the schema before
    and created again after, exactly as they were.
    """
    bind = op.get_bind()
    triggers = [
        row[0]
        for row in bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        )
    ]
    with op.batch_alter_table(table, recreate="always") as batch:
        alter(batch)  # type: ignore[operator]
    for statement in triggers:
        op.execute(statement)


def _replace_source_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":

        def alter(batch: object) -> None:
            batch.drop_constraint("ck_outcome_source", type_="check")  # type: ignore[attr-defined]
            batch.create_check_constraint("ck_outcome_source", new)  # type: ignore[attr-defined]

        # The rows must satisfy the new check before the copy (downgrade only).
        op.execute(f"DELETE FROM outcome WHERE NOT ({new})")
        _rebuild_sqlite_table("outcome", alter)
    else:
        op.drop_constraint("ck_outcome_source", "outcome", type_="check")
        op.execute(f"DELETE FROM outcome WHERE NOT ({new})")
        op.create_check_constraint("ck_outcome_source", "outcome", new)
    del old


def upgrade() -> None:
    op.add_column(
        "survey_wave",
        sa.Column(
            "include_non_completers", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "survey_wave", sa.Column("max_reminders", sa.Integer(), server_default="2", nullable=False)
    )
    op.add_column(
        "survey_wave",
        sa.Column("reminder_gap_days", sa.Integer(), server_default="7", nullable=False),
    )
    op.add_column("survey_wave", sa.Column("response_rate_target", sa.Float(), nullable=True))
    op.add_column("survey_wave", sa.Column("knowledge_rate_target", sa.Float(), nullable=True))
    op.add_column("survey_wave", _ts("closed_at"))

    op.create_table(
        "wave_programme",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["wave_id"], ["survey_wave.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"]),
        sa.PrimaryKeyConstraint("wave_id", "programme_id"),
    )
    op.execute(
        "INSERT INTO wave_programme (wave_id, programme_id) "
        "SELECT id, programme_id FROM survey_wave WHERE programme_id IS NOT NULL"
    )

    op.add_column(
        "invitation",
        sa.Column(
            "skipped_reason",
            sa.String(length=20),
            sa.CheckConstraint(SKIP_REASONS, name="ck_invitation_skipped_reason"),
            nullable=True,
        ),
    )
    op.add_column("invitation", _ts("bounced_at"))

    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("claim", sa.String(length=64), nullable=True),
        _ts("claimed_at"),
        _ts("sent_at"),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        _ts("created_at", nullable=False),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.CheckConstraint(MAIL_KINDS, name="ck_mail_message_kind"),
        sa.CheckConstraint(MAIL_STATUSES, name="ck_mail_message_status"),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invitation_id", "kind", "number", name="uq_mail_message"),
    )
    op.create_index("ix_mail_message_invitation_id", "mail_message", ["invitation_id"])
    op.create_index("ix_mail_message_due", "mail_message", ["status", "next_attempt_at"])

    op.add_column("outcome", sa.Column("recorded_by", sa.String(length=320), nullable=True))
    op.add_column("outcome", _ts("recorded_at"))
    op.add_column("outcome", sa.Column("note", sa.String(length=2000), nullable=True))
    _replace_source_check(OLD_SOURCES, NEW_SOURCES)


def downgrade() -> None:
    _replace_source_check(NEW_SOURCES, OLD_SOURCES)
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild that would lose the triggers on
    # these tables.
    op.drop_column("outcome", "note")
    op.drop_column("outcome", "recorded_at")
    op.drop_column("outcome", "recorded_by")
    op.drop_index("ix_mail_message_due", table_name="mail_message")
    op.drop_index("ix_mail_message_invitation_id", table_name="mail_message")
    op.drop_table("mail_message")
    op.drop_column("invitation", "bounced_at")
    # The CHECK was added with the column (a column constraint), so SQLite drops it with the
    # column too.
    op.drop_column("invitation", "skipped_reason")
    op.execute(
        "UPDATE survey_wave SET programme_id = (SELECT MIN(programme_id) FROM wave_programme "
        "WHERE wave_programme.wave_id = survey_wave.id)"
    )
    op.drop_table("wave_programme")
    for column in (
        "closed_at",
        "knowledge_rate_target",
        "response_rate_target",
        "reminder_gap_days",
        "max_reminders",
        "include_non_completers",
    ):
        op.drop_column("survey_wave", column)
