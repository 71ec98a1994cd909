"""Versions: a content hash identifies the wording; each wording is stored once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outcomes.instruments import instrument_from_definition, load_instrument
from outcomes.instruments.loading import InstrumentError
from outcomes.instruments.registry import load_shipped
from outcomes.store.instrument_versions import ensure_instrument_version, instrument_from_version
from outcomes.store.tables import InstrumentVersion

SURVEYS = Path(__file__).parents[3] / "surveys"


def test_the_hash_is_stable_across_loads_and_formatting(tmp_path: Path) -> None:
    source = (SURVEYS / "exit.yaml").read_text(encoding="utf-8")
    reformatted = tmp_path / "exit.yaml"
    # Comments and blank lines are not content: the version does not change.
    reformatted.write_text("# a new comment\n\n" + source, encoding="utf-8")
    first = load_instrument(SURVEYS / "exit.yaml").content_hash
    assert load_instrument(SURVEYS / "exit.yaml").content_hash == first
    assert load_instrument(reformatted).content_hash == first
    assert len(first) == 64 and int(first, 16) >= 0


def test_changing_one_word_of_wording_changes_the_hash(tmp_path: Path) -> None:
    source = (SURVEYS / "exit.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "exit.yaml"
    edited.write_text(source.replace("The teaching helped me learn.", "Teaching helped me learn."))
    assert load_instrument(edited).content_hash != load_shipped("exit").content_hash


def test_the_stored_definition_rebuilds_the_same_instrument() -> None:
    instrument = load_shipped("follow-up-36m")
    rebuilt = instrument_from_definition(instrument.definition())
    assert rebuilt == instrument
    assert rebuilt.content_hash == instrument.content_hash


def test_a_broken_stored_definition_is_refused_plainly() -> None:
    definition = load_shipped("exit").definition()
    definition["sections"][0]["questions"][0]["text"].pop("es")
    with pytest.raises(InstrumentError, match="missing Spanish translation"):
        instrument_from_definition(definition)


def test_ensure_instrument_version_stores_each_wording_once(empty_engine: Engine) -> None:
    engine = empty_engine
    InstrumentVersion.metadata.create_all(engine, tables=[InstrumentVersion.__table__])
    original = load_shipped("exit")
    edited_definition = original.definition()
    edited_definition["title"]["en"] = "Well done on completing your course"
    edited = instrument_from_definition(edited_definition)
    with Session(engine) as session:
        first = ensure_instrument_version(session, original)
        again = ensure_instrument_version(session, original)
        newer = ensure_instrument_version(session, edited)
        session.commit()
        rows = session.exec(select(InstrumentVersion)).all()
    assert first.id == again.id != newer.id
    assert len(rows) == 2
    assert {row.content_hash for row in rows} == {original.content_hash, edited.content_hash}
    # An old response renders with the wording its respondent saw.
    old = instrument_from_version(first)
    assert old.title.en == "Congratulations on completing your course"
