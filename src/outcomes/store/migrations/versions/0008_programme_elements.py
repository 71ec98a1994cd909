"""Programmes: every element of the EU Recommendation's Annex I, coded where Annex I asks a type.

- ``assessment_type`` becomes a code of ``vocab.ASSESSMENT_TYPES`` (CHECK); the free text it
  held moves, unchanged, to the new ``assessment_description``. Existing rows get the code
  their text names (portfolio; prior learning; project, practical, lab, observation,
  workshop, campaign → ``application_of_a_skill``; exam, quiz, test, written, oral →
  ``testing``), else ``other``.
- ``quality_assurance_type`` (CHECK, ``vocab.QUALITY_ASSURANCE_TYPES``) beside the free-text
  ``quality_assurance``: text naming internal QA and more (a ";", external, accreditation,
  a partner, a review) → ``internal_and_external``; internal only → ``internal``; external,
  accreditation or agency only → ``external``; else ``other``.
- ``eqf_applicable`` (default true): false records "EQF not applicable" explicitly, and then
  the level must be NULL (CHECK). A NULL level with ``eqf_applicable`` true is a level not
  recorded (rows from before this revision), which the input models no longer accept.
- The optional elements: ``supervision_type`` (CHECK, ``vocab.SUPERVISION_TYPES``),
  ``identity_checked``, ``grade_scheme``, ``further_information``; and ``redesigned_on``,
  the date a programme was redesigned (issue 15 compares before and after it).

Plain ADD / DROP / RENAME COLUMN only (``programme`` is referenced by six tables, and a
SQLite table copy would run their ON DELETE actions); a vocabulary CHECK goes in with its
column. SQLite cannot add a NOT NULL column without a default, so the two NOT NULL codes keep
a server default there (``other``; never used: every writer gives a value); PostgreSQL drops it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, as every revision carries its own DDL.
ASSESSMENT = (
    "testing",
    "application_of_a_skill",
    "portfolio",
    "recognition_of_prior_learning",
    "other",
)
QUALITY = ("internal", "external", "internal_and_external", "other")
SUPERVISION = (
    "unsupervised_with_no_identity_verification",
    "supervised_with_no_identity_verification",
    "supervised_online",
    "onsite_with_identity_verification",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _like(column: str, *words: str) -> str:
    return "(" + " OR ".join(f"lower({column}) LIKE '%{w}%'" for w in words) + ")"


ASSESSMENT_FROM_TEXT = f"""
    CASE
        WHEN {_like("assessment_description", "portfolio")} THEN 'portfolio'
        WHEN {_like("assessment_description", "prior learning")}
            THEN 'recognition_of_prior_learning'
        WHEN {
    _like(
        "assessment_description",
        "project",
        "practical",
        "lab",
        "observation",
        "workshop",
        "campaign",
    )
} THEN 'application_of_a_skill'
        WHEN {_like("assessment_description", "exam", "quiz", "test", "written", "oral")}
            THEN 'testing'
        ELSE 'other'
    END
"""
QUALITY_FROM_TEXT = f"""
    CASE
        WHEN {_like("quality_assurance", "internal")}
             AND {_like("quality_assurance", ";", "extern", "accredit", "partner", "review")}
            THEN 'internal_and_external'
        WHEN {_like("quality_assurance", "internal")} THEN 'internal'
        WHEN {_like("quality_assurance", "extern", "accredit", "agency")} THEN 'external'
        ELSE 'other'
    END
"""


def _code_column(name: str, length: int, check: str, constraint: str) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.String(length=length),
        sa.CheckConstraint(check, name=constraint),
        nullable=False,
        server_default="other",
    )


def _drop_default_on_postgresql(column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("programme", column, server_default=None)


def upgrade() -> None:
    op.add_column("programme", sa.Column("assessment_description", sa.Text(), nullable=True))
    op.execute("UPDATE programme SET assessment_description = assessment_type")
    op.add_column(
        "programme",
        _code_column(
            "assessment_code",
            40,
            _in("assessment_code", ASSESSMENT),
            "ck_programme_assessment_type",
        ),
    )
    op.execute(f"UPDATE programme SET assessment_code = {ASSESSMENT_FROM_TEXT}")
    _drop_default_on_postgresql("assessment_code")
    op.drop_column("programme", "assessment_type")
    op.execute("ALTER TABLE programme RENAME COLUMN assessment_code TO assessment_type")

    op.add_column(
        "programme",
        _code_column(
            "quality_assurance_type",
            30,
            _in("quality_assurance_type", QUALITY),
            "ck_programme_quality_assurance_type",
        ),
    )
    op.execute(f"UPDATE programme SET quality_assurance_type = {QUALITY_FROM_TEXT}")
    _drop_default_on_postgresql("quality_assurance_type")

    op.add_column(
        "programme",
        sa.Column(
            "eqf_applicable",
            sa.Boolean(),
            sa.CheckConstraint(
                "eqf_applicable OR eqf_level IS NULL", name="ck_programme_eqf_applicable"
            ),
            nullable=False,
            server_default=sa.true(),
        ),
    )
    op.add_column(
        "programme",
        sa.Column(
            "supervision_type",
            sa.String(length=60),
            sa.CheckConstraint(
                _in("supervision_type", SUPERVISION), name="ck_programme_supervision"
            ),
            nullable=True,
        ),
    )
    op.add_column("programme", sa.Column("identity_checked", sa.Boolean(), nullable=True))
    op.add_column("programme", sa.Column("grade_scheme", sa.Text(), nullable=True))
    op.add_column("programme", sa.Column("further_information", sa.Text(), nullable=True))
    op.add_column("programme", sa.Column("redesigned_on", sa.Date(), nullable=True))


def downgrade() -> None:
    for column in (
        "redesigned_on",
        "further_information",
        "grade_scheme",
        "identity_checked",
        "supervision_type",
        "eqf_applicable",
        "quality_assurance_type",
    ):
        # Each CHECK went in with its column (a column constraint): SQLite drops it too.
        op.drop_column("programme", column)
    op.add_column(
        "programme",
        sa.Column("assessment_text", sa.String(length=200), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE programme SET assessment_text = "
        "substr(COALESCE(assessment_description, assessment_type), 1, 200)"
    )
    _drop_default_on_postgresql("assessment_text")
    op.drop_column("programme", "assessment_type")
    op.drop_column("programme", "assessment_description")
    op.execute("ALTER TABLE programme RENAME COLUMN assessment_text TO assessment_type")
