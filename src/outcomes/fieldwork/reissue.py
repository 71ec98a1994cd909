"""Reissuing a graduate's personal link from the monitor: find the invitation, then reissue.

Staff find a graduate's invitation in one wave by learner ref or e-mail address, among the
programmes in their scope only; reissuing checks the action (``invitations.reissue``) and
the scope again, refuses a graduate the launch never contacted, and hands over to
:func:`outcomes.fieldwork.invitations.reissue`, which mints the new token (the old link
stops working) and audits it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from outcomes.access import permissions
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.fieldwork.invitations import Reissued, invitation_status, reissue
from outcomes.store.tables import (
    Enrolment,
    Invitation,
    Learner,
    LearnerIdentity,
    Programme,
    Response,
    table_of,
)

REISSUE = "invitations.reissue"


@dataclass(frozen=True)
class InvitationMatch:
    """A graduate's invitation found from the monitor (what staff need to pick the right one)."""

    invitation_id: int
    learner_ref: str
    email: str | None  # None once the learner's identity is erased
    programme: str
    status: str  # ``fieldwork.invitations.invitation_status``
    skipped_reason: str | None

    @property
    def label(self) -> str:
        """How a chooser names it."""
        return f"{self.email or self.learner_ref} · {self.programme} · {self.status}"


def _in_scope(enr: sa.Table, scope: set[int] | None) -> list[sa.ColumnElement[bool]]:
    return [] if scope is None else [enr.c.programme_id.in_(sorted(scope))]


def find_invitations(
    session: Session, *, wave_id: int, key: str, scope: set[int] | None, at: dt.datetime
) -> tuple[InvitationMatch, ...]:
    """Invitations of ``wave_id`` whose learner has ref ``key`` or e-mail ``key`` (any case),
    on a programme in ``scope`` (``None``: every programme)."""
    value = key.strip()
    if not value:
        raise ValidationProblem("Give a learner ref or an e-mail address.")
    inv, enr, prog = table_of(Invitation), table_of(Enrolment), table_of(Programme)
    learner, ident, resp = table_of(Learner), table_of(LearnerIdentity), table_of(Response)
    statement = (
        sa.select(
            inv.c.id,
            learner.c.ref,
            ident.c.email,
            prog.c.code,
            inv.c.skipped_reason,
            inv.c.sent_at,
            inv.c.opened_at,
            inv.c.declined_at,
            inv.c.opted_out_at,
            inv.c.expires_at,
            ident.c.contact_opted_out_at,
            resp.c.status.label("response_status"),
        )
        .select_from(
            inv.join(enr, enr.c.id == inv.c.enrolment_id)
            .join(prog, prog.c.id == enr.c.programme_id)
            .join(learner, learner.c.id == inv.c.learner_id)
            .outerjoin(ident, ident.c.learner_id == inv.c.learner_id)
            .outerjoin(resp, resp.c.invitation_id == inv.c.id)
        )
        .where(
            inv.c.wave_id == wave_id,
            sa.or_(learner.c.ref == value, sa.func.lower(ident.c.email) == value.lower()),
            *_in_scope(enr, scope),
        )
        .order_by(inv.c.id)
    )
    return tuple(
        InvitationMatch(
            invitation_id=row["id"],
            learner_ref=row["ref"],
            email=row["email"],
            programme=row["code"],
            status=invitation_status(row, at),
            skipped_reason=row["skipped_reason"],
        )
        for row in (dict(r._mapping) for r in session.execute(statement))
    )


def reissue_from_monitor(
    session: Session,
    settings: Settings,
    *,
    invitation_id: int,
    role: str,
    scope: set[int] | None,
    actor: str,
    at: dt.datetime,
) -> Reissued:
    """A fresh personal link for one invitation in the viewer's scope; audited."""
    if not permissions.can(role, REISSUE):
        raise AccessDenied("Your role may not reissue personal links.")
    inv, enr = table_of(Invitation), table_of(Enrolment)
    found = session.execute(
        sa.select(inv.c.skipped_reason)
        .join(enr, enr.c.id == inv.c.enrolment_id)
        .where(inv.c.id == invitation_id, *_in_scope(enr, scope))
    ).first()
    if found is None:
        raise NotFound(f"No invitation with id {invitation_id}.")
    if found.skipped_reason is not None:
        raise ValidationProblem(
            "This graduate was never contacted (skipped at launch: "
            f"{found.skipped_reason.replace('_', ' ')}), so no link is reissued."
        )
    return reissue(session, settings, invitation_id, actor=actor, at=at)
