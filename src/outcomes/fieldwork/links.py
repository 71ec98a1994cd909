"""Personal survey links: minting a token, storing only its keyed hash, and opening it.

A token is 32 bytes from ``secrets`` (256 bits) in URL-safe base64 (43 characters). The
database keeps only ``HMAC(Purpose.TOKEN_HASH subkey, token)`` — a stolen database yields no
working link, and a hash cannot be turned back into one. Each invitation has exactly one
live token: reissuing replaces the hash, so the old link stops working at once.

``open_link`` decides what a token may do, in the order a graduate would want to hear it:
unknown (or never issued), expired, opted out, wave not open yet, wave closed, else open.
Every refusal reveals nothing about the person (the pages say the same for every invitation).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.config import Settings
from outcomes.keys import Purpose, labelled_hmac_hex
from outcomes.store.tables import Invitation, LearnerIdentity, SurveyWave

TOKEN_BYTES = 32
# What a token looks like in a URL: URL-safe base64 without padding. Anything else is
# refused before it reaches the database (and never logged).
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkStatus(StrEnum):
    """What opening a personal link leads to."""

    OPEN = "open"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    OPTED_OUT = "opted_out"
    NOT_OPEN_YET = "not_open_yet"
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of opening a link; ``invitation_id`` and ``language`` when it was found."""

    status: LinkStatus
    invitation_id: int | None = None
    language: str = "en"
    token_hash: str | None = None


def new_token() -> str:
    """A fresh personal token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(settings: Settings, token: str) -> str:
    """The keyed hash stored for ``token`` (64 hexadecimal characters)."""
    return labelled_hmac_hex(settings.require_secret_key(), Purpose.TOKEN_HASH, token)


def survey_url(settings: Settings, token: str) -> str:
    """The personal link a graduate receives."""
    return f"{settings.public_base_url.rstrip('/')}/s/{token}"


def opt_out_url(settings: Settings, token: str) -> str:
    """The one-click opt-out link (``List-Unsubscribe``, RFC 8058) of a personal token."""
    return f"{settings.public_base_url.rstrip('/')}/u/{token}"


def wave_state(wave: SurveyWave, today: dt.date) -> LinkStatus:
    """OPEN, NOT_OPEN_YET or CLOSED for ``wave`` on ``today``."""
    if wave.status == "closed" or today > wave.closes_on:
        return LinkStatus.CLOSED
    if wave.status == "draft" or today < wave.opens_on:
        return LinkStatus.NOT_OPEN_YET
    return LinkStatus.OPEN


def is_opted_out(session: Session, invitation: Invitation) -> bool:
    """True when the graduate opted out of this invitation or of all contact."""
    if invitation.opted_out_at is not None:
        return True
    opted = session.execute(
        sa.select(col(LearnerIdentity.contact_opted_out_at)).where(
            col(LearnerIdentity.learner_id) == invitation.learner_id
        )
    ).scalar_one_or_none()
    return opted is not None


def find_by_token(session: Session, settings: Settings, token: str) -> Invitation | None:
    """The invitation whose live token is ``token``, or None (malformed tokens included)."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    digest = token_hash(settings, token)
    return session.execute(
        sa.select(Invitation).where(col(Invitation.token_hash) == digest)
    ).scalar_one_or_none()


def check_invitation(session: Session, invitation: Invitation, at: dt.datetime) -> LinkStatus:
    """What the invitation's link may do at ``at`` (expiry, opt-out, the wave's dates)."""
    if at >= invitation.expires_at:
        return LinkStatus.EXPIRED
    if is_opted_out(session, invitation):
        return LinkStatus.OPTED_OUT
    wave = session.get(SurveyWave, invitation.wave_id)
    if wave is None:  # the foreign key makes this impossible; refuse rather than crash
        return LinkStatus.UNKNOWN
    return wave_state(wave, at.date())


def open_link(session: Session, settings: Settings, token: str, at: dt.datetime) -> LinkCheck:
    """Check a personal link; the first successful opening is recorded (``opened_at``)."""
    invitation = find_by_token(session, settings, token)
    if invitation is None or invitation.id is None:
        return LinkCheck(LinkStatus.UNKNOWN)
    status = check_invitation(session, invitation, at)
    if status is LinkStatus.OPEN and invitation.opened_at is None:
        invitation.opened_at = at
        session.add(invitation)
    return LinkCheck(status, invitation.id, invitation.language, invitation.token_hash)
