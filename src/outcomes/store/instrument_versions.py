"""Stored instrument versions: one row per exact wording.

A version is the content hash of the parsed definition, so editing a published file (even one
word) creates a new ``InstrumentVersion`` row, and responses keep pointing at the wording their
respondents saw: rebuild it with ``instrument_from_version(version)``.
"""

from __future__ import annotations

from sqlmodel import Session, select

from outcomes.instruments.loading import instrument_from_definition
from outcomes.instruments.schema import Instrument
from outcomes.store.tables import InstrumentVersion

__all__ = ["ensure_instrument_version", "instrument_from_version"]


def ensure_instrument_version(session: Session, instrument: Instrument) -> InstrumentVersion:
    """The stored version of this exact instrument content, adding it if new."""
    statement = select(InstrumentVersion).where(
        InstrumentVersion.instrument_key == instrument.id,
        InstrumentVersion.content_hash == instrument.content_hash,
    )
    existing = session.exec(statement).first()
    if existing is not None:
        return existing
    version = InstrumentVersion(
        instrument_key=instrument.id,
        content_hash=instrument.content_hash,
        title=instrument.title.en[:300],
        definition=instrument.definition(),
    )
    session.add(version)
    session.flush()
    return version


def instrument_from_version(version: InstrumentVersion) -> Instrument:
    """The instrument exactly as stored in a version row."""
    return instrument_from_definition(version.definition)
