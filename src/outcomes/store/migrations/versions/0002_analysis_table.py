"""The analysis table: one flat row per graduate of a wave, kept fresh by triggers.

Triggers on the five tables an analysis row is derived from list the invitations whose row
must be rebuilt in ``analysis_stale``; ``outcomes.store.analysis_table.refresh_analysis_rows`` rebuilds
them. Every writer — the app, imports, the demo, erasure, a hand-typed SQL fix — is covered
by the database itself, so no code path can forget to keep the metrics panel fresh. The
trigger statements are written out below as they were at this revision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger statements as they were when this revision was written (frozen: a migration's
# output must not change when today's code does). ``outcomes.store.freshness`` builds the same
# statements for bulk loads; a later change there needs a new revision that drops and
# recreates them (tests/integration/test_analysis_table.py compares the two).
CREATE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TRIGGER analysis_stale_invitation_insert AFTER INSERT ON invitation FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT NEW.id; END",
        "CREATE TRIGGER analysis_stale_invitation_update AFTER UPDATE ON invitation FOR EACH ROW WHEN OLD.sent_at IS NOT NEW.sent_at OR OLD.wave_id IS NOT NEW.wave_id OR OLD.learner_id IS NOT NEW.learner_id OR OLD.enrolment_id IS NOT NEW.enrolment_id BEGIN INSERT INTO analysis_stale (invitation_id) SELECT OLD.id; INSERT INTO analysis_stale (invitation_id) SELECT NEW.id; END",
        "CREATE TRIGGER analysis_stale_invitation_delete AFTER DELETE ON invitation FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT OLD.id; END",
        "CREATE TRIGGER analysis_stale_response_insert AFTER INSERT ON response FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT NEW.invitation_id; END",
        "CREATE TRIGGER analysis_stale_response_update AFTER UPDATE ON response FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.invitation_id IS NOT NEW.invitation_id BEGIN INSERT INTO analysis_stale (invitation_id) SELECT OLD.invitation_id; INSERT INTO analysis_stale (invitation_id) SELECT NEW.invitation_id; END",
        "CREATE TRIGGER analysis_stale_response_delete AFTER DELETE ON response FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT OLD.invitation_id; END",
        "CREATE TRIGGER analysis_stale_outcome_insert AFTER INSERT ON outcome FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.learner_id = NEW.learner_id AND i.wave_id = NEW.wave_id; END",
        "CREATE TRIGGER analysis_stale_outcome_update AFTER UPDATE ON outcome FOR EACH ROW WHEN OLD.learner_id IS NOT NEW.learner_id OR OLD.wave_id IS NOT NEW.wave_id OR OLD.activity IS NOT NEW.activity OR OLD.hours_per_week IS NOT NEW.hours_per_week OR OLD.salary_annual IS NOT NEW.salary_annual OR OLD.salary_excluded IS NOT NEW.salary_excluded OR OLD.job_related IS NOT NEW.job_related OR OLD.satisfaction IS NOT NEW.satisfaction OR OLD.nps IS NOT NEW.nps OR OLD.voice_meaningful IS NOT NEW.voice_meaningful OR OLD.voice_future IS NOT NEW.voice_future OR OLD.voice_skills IS NOT NEW.voice_skills BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.learner_id = OLD.learner_id AND i.wave_id = OLD.wave_id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.learner_id = NEW.learner_id AND i.wave_id = NEW.wave_id; END",
        "CREATE TRIGGER analysis_stale_outcome_delete AFTER DELETE ON outcome FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.learner_id = OLD.learner_id AND i.wave_id = OLD.wave_id; END",
        "CREATE TRIGGER analysis_stale_credential_insert AFTER INSERT ON credential FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = NEW.enrolment_id; END",
        "CREATE TRIGGER analysis_stale_credential_update AFTER UPDATE ON credential FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.enrolment_id IS NOT NEW.enrolment_id BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = OLD.enrolment_id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = NEW.enrolment_id; END",
        "CREATE TRIGGER analysis_stale_credential_delete AFTER DELETE ON credential FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = OLD.enrolment_id; END",
        "CREATE TRIGGER analysis_stale_enrolment_insert AFTER INSERT ON enrolment FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = NEW.id; END",
        "CREATE TRIGGER analysis_stale_enrolment_update AFTER UPDATE ON enrolment FOR EACH ROW WHEN OLD.programme_id IS NOT NEW.programme_id OR OLD.ended_on IS NOT NEW.ended_on BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = OLD.id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = NEW.id; END",
        "CREATE TRIGGER analysis_stale_enrolment_delete AFTER DELETE ON enrolment FOR EACH ROW BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM invitation i WHERE i.enrolment_id = OLD.id; END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_invitation() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT r.id FROM changed_rows r; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_invitation_insert AFTER INSERT ON invitation REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_invitation()",
        "CREATE TRIGGER analysis_stale_invitation_delete AFTER DELETE ON invitation REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_invitation()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_invitation_update() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT r.id FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.sent_at IS DISTINCT FROM n.sent_at OR o.wave_id IS DISTINCT FROM n.wave_id OR o.learner_id IS DISTINCT FROM n.learner_id OR o.enrolment_id IS DISTINCT FROM n.enrolment_id) r; INSERT INTO analysis_stale (invitation_id) SELECT r.id FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.sent_at IS DISTINCT FROM n.sent_at OR o.wave_id IS DISTINCT FROM n.wave_id OR o.learner_id IS DISTINCT FROM n.learner_id OR o.enrolment_id IS DISTINCT FROM n.enrolment_id) r; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_invitation_update AFTER UPDATE ON invitation REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_invitation_update()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_response() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT r.invitation_id FROM changed_rows r; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_response_insert AFTER INSERT ON response REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_response()",
        "CREATE TRIGGER analysis_stale_response_delete AFTER DELETE ON response REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_response()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_response_update() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT r.invitation_id FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status OR o.invitation_id IS DISTINCT FROM n.invitation_id) r; INSERT INTO analysis_stale (invitation_id) SELECT r.invitation_id FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status OR o.invitation_id IS DISTINCT FROM n.invitation_id) r; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_response_update AFTER UPDATE ON response REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_response_update()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_outcome() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM changed_rows r JOIN invitation i ON i.learner_id = r.learner_id AND i.wave_id = r.wave_id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_outcome_insert AFTER INSERT ON outcome REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_outcome()",
        "CREATE TRIGGER analysis_stale_outcome_delete AFTER DELETE ON outcome REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_outcome()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_outcome_update() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.learner_id IS DISTINCT FROM n.learner_id OR o.wave_id IS DISTINCT FROM n.wave_id OR o.activity IS DISTINCT FROM n.activity OR o.hours_per_week IS DISTINCT FROM n.hours_per_week OR o.salary_annual IS DISTINCT FROM n.salary_annual OR o.salary_excluded IS DISTINCT FROM n.salary_excluded OR o.job_related IS DISTINCT FROM n.job_related OR o.satisfaction IS DISTINCT FROM n.satisfaction OR o.nps IS DISTINCT FROM n.nps OR o.voice_meaningful IS DISTINCT FROM n.voice_meaningful OR o.voice_future IS DISTINCT FROM n.voice_future OR o.voice_skills IS DISTINCT FROM n.voice_skills) r JOIN invitation i ON i.learner_id = r.learner_id AND i.wave_id = r.wave_id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.learner_id IS DISTINCT FROM n.learner_id OR o.wave_id IS DISTINCT FROM n.wave_id OR o.activity IS DISTINCT FROM n.activity OR o.hours_per_week IS DISTINCT FROM n.hours_per_week OR o.salary_annual IS DISTINCT FROM n.salary_annual OR o.salary_excluded IS DISTINCT FROM n.salary_excluded OR o.job_related IS DISTINCT FROM n.job_related OR o.satisfaction IS DISTINCT FROM n.satisfaction OR o.nps IS DISTINCT FROM n.nps OR o.voice_meaningful IS DISTINCT FROM n.voice_meaningful OR o.voice_future IS DISTINCT FROM n.voice_future OR o.voice_skills IS DISTINCT FROM n.voice_skills) r JOIN invitation i ON i.learner_id = r.learner_id AND i.wave_id = r.wave_id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_outcome_update AFTER UPDATE ON outcome REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_outcome_update()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_credential() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM changed_rows r JOIN invitation i ON i.enrolment_id = r.enrolment_id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_credential_insert AFTER INSERT ON credential REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_credential()",
        "CREATE TRIGGER analysis_stale_credential_delete AFTER DELETE ON credential REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_credential()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_credential_update() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status OR o.enrolment_id IS DISTINCT FROM n.enrolment_id) r JOIN invitation i ON i.enrolment_id = r.enrolment_id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status OR o.enrolment_id IS DISTINCT FROM n.enrolment_id) r JOIN invitation i ON i.enrolment_id = r.enrolment_id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_credential_update AFTER UPDATE ON credential REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_credential_update()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_enrolment() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM changed_rows r JOIN invitation i ON i.enrolment_id = r.id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_enrolment_insert AFTER INSERT ON enrolment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_enrolment()",
        "CREATE TRIGGER analysis_stale_enrolment_delete AFTER DELETE ON enrolment REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_enrolment()",
        "CREATE OR REPLACE FUNCTION outcomes_analysis_stale_enrolment_update() RETURNS trigger AS $$ BEGIN INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.programme_id IS DISTINCT FROM n.programme_id OR o.ended_on IS DISTINCT FROM n.ended_on) r JOIN invitation i ON i.enrolment_id = r.id; INSERT INTO analysis_stale (invitation_id) SELECT i.id FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.programme_id IS DISTINCT FROM n.programme_id OR o.ended_on IS DISTINCT FROM n.ended_on) r JOIN invitation i ON i.enrolment_id = r.id; RETURN NULL; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER analysis_stale_enrolment_update AFTER UPDATE ON enrolment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outcomes_analysis_stale_enrolment_update()",
    ),
}
DROP_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_insert",
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_update",
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_delete",
        "DROP TRIGGER IF EXISTS analysis_stale_response_insert",
        "DROP TRIGGER IF EXISTS analysis_stale_response_update",
        "DROP TRIGGER IF EXISTS analysis_stale_response_delete",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_insert",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_update",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_delete",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_insert",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_update",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_delete",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_insert",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_update",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_delete",
    ),
    "postgresql": (
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_insert ON invitation",
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_delete ON invitation",
        "DROP TRIGGER IF EXISTS analysis_stale_invitation_update ON invitation",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_invitation()",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_invitation_update()",
        "DROP TRIGGER IF EXISTS analysis_stale_response_insert ON response",
        "DROP TRIGGER IF EXISTS analysis_stale_response_delete ON response",
        "DROP TRIGGER IF EXISTS analysis_stale_response_update ON response",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_response()",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_response_update()",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_insert ON outcome",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_delete ON outcome",
        "DROP TRIGGER IF EXISTS analysis_stale_outcome_update ON outcome",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_outcome()",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_outcome_update()",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_insert ON credential",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_delete ON credential",
        "DROP TRIGGER IF EXISTS analysis_stale_credential_update ON credential",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_credential()",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_credential_update()",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_insert ON enrolment",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_delete ON enrolment",
        "DROP TRIGGER IF EXISTS analysis_stale_enrolment_update ON enrolment",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_enrolment()",
        "DROP FUNCTION IF EXISTS outcomes_analysis_stale_enrolment_update()",
    ),
}


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
    for statement in CREATE_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    # Every existing graduate needs a row: the first refresh (run by ``migrate.upgrade``)
    # builds them all.
    op.execute("INSERT INTO analysis_stale (invitation_id) SELECT id FROM invitation")


def downgrade() -> None:
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index("ux_analysis_row_invitation", table_name="analysis_row")
    op.drop_table("analysis_stale")
    op.drop_table("analysis_row")
