"""What the demo would have sent: the outbox page's messages, newest first.

Only demo mode stores a message's content (``mail_message.preview``: recipient, subject,
text, HTML and links); outside it nothing but the send state is kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from outcomes.config import Settings
from outcomes.fieldwork.links import token_hash
from outcomes.store.tables import Enrolment, Invitation, MailMessage

MAIL = MailMessage.__table__  # type: ignore[attr-defined]
INV = Invitation.__table__  # type: ignore[attr-defined]
ENROL = Enrolment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OutboxEntry:
    """One message the demo would have sent."""

    message_id: int
    invitation_id: int
    kind: str
    number: int
    sent_at: dt.datetime | None
    to: str
    subject: str
    text: str
    html: str
    survey_url: str
    opt_out_url: str
    live: bool  # the link still opens: no later message replaced it


def demo_outbox(
    session: Session, settings: Settings, *, scope: set[int] | None, limit: int = 50
) -> list[OutboxEntry]:
    """The last ``limit`` previews, newest first, of the programmes in ``scope`` (None: all)."""
    statement = (
        sa.select(
            MAIL.c.id,
            MAIL.c.invitation_id,
            MAIL.c.kind,
            MAIL.c.number,
            MAIL.c.sent_at,
            MAIL.c.preview,
            INV.c.token_hash,
        )
        .join(INV, INV.c.id == MAIL.c.invitation_id)
        .join(ENROL, ENROL.c.id == INV.c.enrolment_id)
        .where(MAIL.c.preview.is_not(None))
        .order_by(MAIL.c.sent_at.desc(), MAIL.c.id.desc())
        .limit(limit)
    )
    if scope is not None:
        statement = statement.where(ENROL.c.programme_id.in_(scope or {-1}))
    entries = []
    for row in session.execute(statement):
        preview = row.preview or {}
        url = str(preview.get("survey_url", ""))
        token = url.rpartition("/")[2]
        entries.append(
            OutboxEntry(
                message_id=row.id,
                invitation_id=row.invitation_id,
                kind=row.kind,
                number=row.number,
                sent_at=row.sent_at,
                to=str(preview.get("to", "")),
                subject=str(preview.get("subject", "")),
                text=str(preview.get("text", "")),
                html=str(preview.get("html", "")),
                survey_url=url,
                opt_out_url=str(preview.get("opt_out_url", "")),
                live=bool(token) and token_hash(settings, token) == row.token_hash,
            )
        )
    return entries
