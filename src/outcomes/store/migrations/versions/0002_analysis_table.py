"""The analysis table: one flat row per graduate of a wave, kept fresh by triggers.

Triggers on the five tables an analysis row is derived from list the invitations whose row
must be rebuilt in ``analysis_stale``; ``outcomes.store.queries.refresh_analysis_rows`` rebuilds
them. Every writer — the app, imports, the demo, erasure, a hand-typed SQL fix — is covered
by the database itself, so no code path can forget to keep the metrics panel fresh. The
trigger statements come from ``outcomes.store.freshness``, which also lifts them for bulk loads;
a later change to them needs a migration that drops and recreates them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from outcomes.store.freshness import create_triggers, drop_triggers

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_row",
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cohort", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("treated", sa.Boolean(), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("response_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("activity", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("hours_per_week", sa.Float(), nullable=True),
        sa.Column("salary_annual", sa.Float(), nullable=True),
        sa.Column("salary_excluded", sa.Boolean(), nullable=True),
        sa.Column("job_related", sa.Integer(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("voice_meaningful", sa.Integer(), nullable=True),
        sa.Column("voice_future", sa.Integer(), nullable=True),
        sa.Column("voice_skills", sa.Integer(), nullable=True),
        # Clustered in this order on SQLite (WITHOUT ROWID): see models.AnalysisRow.
        sa.PrimaryKeyConstraint("programme_id", "cohort", "wave_id", "invitation_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ux_analysis_row_invitation", "analysis_row", ["invitation_id"], unique=True)
    op.create_table(
        "analysis_stale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for statement in create_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    # Every existing graduate needs a row: the first refresh (run by ``migrate.upgrade``)
    # builds them all.
    op.execute("INSERT INTO analysis_stale (invitation_id) SELECT id FROM invitation")


def downgrade() -> None:
    for statement in drop_triggers(op.get_bind().dialect.name, functions=True):
        op.execute(statement)
    op.drop_index("ux_analysis_row_invitation", table_name="analysis_row")
    op.drop_table("analysis_stale")
    op.drop_table("analysis_row")
