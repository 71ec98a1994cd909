"""What the staff screens show of the records: overview counts, programmes and their codes.

Keyword-only functions taking ``session=``, counting in the database, scoped to the
programmes a viewer may see (``scope``: programme ids; ``None``: the institution).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.store.frames import read_frame
from outcomes.store.tables import (
    Credential,
    Enrolment,
    Invitation,
    Learner,
    Outcome,
    Programme,
    Response,
    SurveyWave,
    WaveProgramme,
    table_of,
)


def overview_counts(*, session: Session, scope: set[int] | None) -> dict[str, int]:
    """How many of each record the viewer's programmes hold (``scope`` None: the institution).

    Under a scope, learners are those enrolled on a programme in it; invitations, responses
    and outcomes follow their enrolment's programme; survey waves are those of a programme
    in it or that invited one of its enrolments.
    """
    prog, learner, enr, cred = (
        table_of(Programme),
        table_of(Learner),
        table_of(Enrolment),
        table_of(Credential),
    )
    wave_programme = table_of(WaveProgramme)
    wave, inv, resp, out = (
        table_of(SurveyWave),
        table_of(Invitation),
        table_of(Response),
        table_of(Outcome),
    )
    ids = sorted(scope) if scope is not None else None

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        statement = sa.select(sa.func.count()).select_from(table).where(sa.true(), *where)
        return int(session.execute(statement).scalar_one())

    def enrolled(enrolment_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
        # The record's enrolment is on a programme in scope (nothing extra when unscoped).
        if ids is None:
            return []
        in_scope = sa.select(enr.c.id).where(enr.c.programme_id.in_(ids))
        return [enrolment_id.in_(in_scope)]

    def on_programme(programme_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
        return [] if ids is None else [programme_id.in_(ids)]

    waves, learners, responses = [], [], []
    if ids is not None:
        scoped_invitations = sa.select(inv.c.id, inv.c.wave_id).where(*enrolled(inv.c.enrolment_id))
        waves.append(
            sa.or_(
                wave.c.id.in_(
                    sa.select(wave_programme.c.wave_id).where(
                        wave_programme.c.programme_id.in_(ids)
                    )
                ),
                wave.c.id.in_(scoped_invitations.with_only_columns(inv.c.wave_id)),
            )
        )
        learners.append(
            learner.c.id.in_(sa.select(enr.c.learner_id).where(enr.c.programme_id.in_(ids)))
        )
        responses.append(resp.c.invitation_id.in_(scoped_invitations.with_only_columns(inv.c.id)))
    return {
        "programmes": count(prog, *on_programme(prog.c.id)),
        "learners": count(learner, *learners),
        "enrolments": count(enr, *on_programme(enr.c.programme_id)),
        "credentials": count(cred, *on_programme(cred.c.programme_id)),
        "survey waves": count(wave, *waves),
        "invitations sent": count(inv, inv.c.sent_at.is_not(None), *enrolled(inv.c.enrolment_id)),
        "responses": count(resp, *responses),
        "outcomes": count(out, *enrolled(out.c.enrolment_id)),
    }


def programme_table(*, session: Session, scope: set[int] | None = None) -> pd.DataFrame:
    """Programmes with their EU elements and credentials awarded (``scope``: only these ids)."""
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
            # EQF 1-8, or "not applicable" (``eqf_applicable`` false; migration 0008)
            sa.case(
                (col(Programme.eqf_applicable).is_(sa.false()), sa.literal("not applicable")),
                else_=sa.cast(col(Programme.eqf_level), sa.String),
            ).label("eqf_level"),
            col(Programme.participation_form),
            col(Programme.field_of_study),
            col(Programme.launched_on),
            col(Programme.status),
            sa.func.coalesce(awarded.c.credentials, 0).label("credentials"),
        )
        .outerjoin(awarded, awarded.c.programme_id == col(Programme.id))
        .order_by(col(Programme.code))
    )
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    return read_frame(session, statement)


def programme_codes(*, session: Session, scope: set[int] | None) -> tuple[str, ...]:
    """Codes of the programmes a viewer may see (``None``: every programme)."""
    statement = sa.select(col(Programme.code)).order_by(col(Programme.code))
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    return tuple(session.execute(statement).scalars())
