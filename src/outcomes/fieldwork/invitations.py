"""Invitations as staff see them: listing, and reissuing a personal link.

Reissuing mints a fresh token, stores its keyed hash in place of the old one (so the old link
and every session opened with it stop working at once), sets a new expiry and audits it. The
token itself is returned once, to be printed or sent, and never stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.fieldwork.links import new_token, opt_out_url, survey_url, token_hash
from outcomes.store.tables import Invitation, LearnerIdentity, Response, SurveyWave

# What ``invitation_status`` can say, in the order a wave's fieldwork moves through them.
INVITATION_STATUSES = (
    "not_sent",
    "sent",
    "opened",
    "started",
    "submitted",
    "declined",
    "opted_out",
    "expired",
)

LIST_COLUMNS = (
    "id",
    "wave_id",
    "wave",
    "learner_id",
    "language",
    "status",
    "sent_at",
    "reminders",
    "opened_at",
    "submitted_at",
    "expires_at",
)


@dataclass(frozen=True)
class Reissued:
    """A fresh link for an invitation (the token is shown once and never stored)."""

    invitation_id: int
    token: str
    url: str
    opt_out_url: str
    expires_at: dt.datetime


def invitation_status(row: dict[str, object], at: dt.datetime) -> str:
    """One word for where an invitation stands (opt-out and submission first)."""
    if row.get("opted_out_at") is not None or row.get("contact_opted_out_at") is not None:
        return "opted_out"
    if row.get("response_status") == "complete":
        return "submitted"
    if row.get("declined_at") is not None:
        return "declined"
    expires = row.get("expires_at")
    if isinstance(expires, dt.datetime) and at >= expires:
        return "expired"
    if row.get("response_status") == "partial":
        return "started"
    if row.get("opened_at") is not None:
        return "opened"
    if row.get("sent_at") is not None:
        return "sent"
    return "not_sent"


def list_invitations(
    session: Session,
    at: dt.datetime,
    *,
    wave_id: int | None = None,
    statuses: tuple[str, ...] = (),
    limit: int | None = None,
) -> pd.DataFrame:
    """Invitations with their status (no names, no e-mail addresses, no tokens)."""
    unknown = sorted(set(statuses) - set(INVITATION_STATUSES))
    if unknown:
        raise ValidationProblem(
            f"Unknown invitation status {', '.join(unknown)}: use {', '.join(INVITATION_STATUSES)}."
        )
    inv, wave = Invitation.__table__, SurveyWave.__table__  # type: ignore[attr-defined]
    resp, ident = Response.__table__, LearnerIdentity.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(
            inv.c.id,
            inv.c.wave_id,
            wave.c.name.label("wave"),
            inv.c.learner_id,
            inv.c.language,
            inv.c.sent_at,
            inv.c.reminders,
            inv.c.opened_at,
            inv.c.submitted_at,
            inv.c.expires_at,
            inv.c.opted_out_at,
            inv.c.declined_at,
            ident.c.contact_opted_out_at,
            resp.c.status.label("response_status"),
        )
        .join(wave, wave.c.id == inv.c.wave_id)
        .outerjoin(resp, resp.c.invitation_id == inv.c.id)
        .outerjoin(ident, ident.c.learner_id == inv.c.learner_id)
        .order_by(inv.c.id)
    )
    if wave_id is not None:
        if session.get(SurveyWave, wave_id) is None:
            raise NotFound(f"No survey wave with id {wave_id}.")
        statement = statement.where(inv.c.wave_id == wave_id)
    rows = [dict(row._mapping) for row in session.execute(statement)]
    for row in rows:
        row["status"] = invitation_status(row, at)
    frame = pd.DataFrame(rows, columns=[*LIST_COLUMNS, "opted_out_at"])
    if rows:
        frame = pd.DataFrame(rows)
    if statuses:
        frame = frame[frame["status"].isin(statuses)]
    frame = frame.loc[:, list(LIST_COLUMNS)].reset_index(drop=True)
    return frame.head(limit) if limit is not None else frame


def reissue(
    session: Session, settings: Settings, invitation_id: int, *, actor: str, at: dt.datetime
) -> Reissued:
    """A fresh personal link for one invitation; the old link stops working."""
    invitation = session.execute(
        sa.select(Invitation).where(col(Invitation.id) == invitation_id).with_for_update()
    ).scalar_one_or_none()
    if invitation is None:
        raise NotFound(f"No invitation with id {invitation_id}.")
    token = new_token()
    invitation.token_hash = token_hash(settings, token)
    invitation.expires_at = at + dt.timedelta(days=settings.invitation_valid_days)
    session.add(invitation)
    audit.record(
        session,
        actor=actor,
        action="invitation.reissued",
        object_type="invitation",
        object_id=invitation_id,
        detail={"expires_at": invitation.expires_at.isoformat()},
    )
    return Reissued(
        invitation_id=invitation_id,
        token=token,
        url=survey_url(settings, token),
        opt_out_url=opt_out_url(settings, token),
        expires_at=invitation.expires_at,
    )
