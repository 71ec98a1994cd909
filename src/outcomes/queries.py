"""The one place that reads SQL for display and analysis.

Keyword-only functions taking ``session=`` and returning DataFrames, aggregating in the
database where they can. Functions for analysis never select from ``learner_identity`` or
``learner_external_id``: analysis frames are pseudonymous.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.models import (
    AuditEvent,
    Credential,
    Enrolment,
    Invitation,
    Learner,
    Outcome,
    Programme,
    Response,
    StaffUser,
    SurveyWave,
)


def _frame(session: Session, statement: sa.Select) -> pd.DataFrame:  # type: ignore[type-arg]
    result = session.execute(statement)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def overview_counts(*, session: Session) -> dict[str, int]:
    """How many of each record the institution holds."""
    tables = {
        "programmes": Programme,
        "learners": Learner,
        "enrolments": Enrolment,
        "credentials": Credential,
        "survey waves": SurveyWave,
        "invitations": Invitation,
        "responses": Response,
        "outcomes": Outcome,
    }
    return {
        name: session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for name, model in tables.items()
    }


def programme_table(*, session: Session) -> pd.DataFrame:
    """Programmes with their EU elements and the number of credentials awarded."""
    awarded = (
        sa.select(col(Credential.programme_id), sa.func.count().label("credentials"))
        .group_by(col(Credential.programme_id))
        .subquery()
    )
    statement = (
        sa.select(
            col(Programme.code),
            col(Programme.title),
            col(Programme.ects),
            col(Programme.eqf_level),
            col(Programme.participation_form),
            col(Programme.field_of_study),
            col(Programme.launched_on),
            col(Programme.status),
            sa.func.coalesce(awarded.c.credentials, 0).label("credentials"),
        )
        .outerjoin(awarded, awarded.c.programme_id == col(Programme.id))
        .order_by(col(Programme.code))
    )
    return _frame(session, statement)


def staff_table(*, session: Session) -> pd.DataFrame:
    """Staff accounts without their password hashes."""
    statement = sa.select(
        col(StaffUser.id),
        col(StaffUser.email),
        col(StaffUser.display_name),
        col(StaffUser.role),
        col(StaffUser.active),
        col(StaffUser.last_signin_at),
    ).order_by(col(StaffUser.email))
    return _frame(session, statement)


def audit_table(*, session: Session, limit: int = 500) -> pd.DataFrame:
    """The newest audit events, newest first."""
    statement = (
        sa.select(
            col(AuditEvent.occurred_at),
            col(AuditEvent.actor),
            col(AuditEvent.action),
            col(AuditEvent.object_type),
            col(AuditEvent.object_id),
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    return _frame(session, statement)
