"""The optional ``non_completers`` key: false unless an instrument says so, hash unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcomes.instruments import check_files, load_instrument
from outcomes.instruments.loading import instrument_from_definition

SURVEYS = Path(__file__).parents[3] / "surveys"


@pytest.mark.parametrize("path", sorted(SURVEYS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shipped_instruments_say_you_completed_and_leave_non_completers_out(
    path: Path,
) -> None:
    instrument = load_instrument(path)
    assert instrument.non_completers is False
    assert "non_completers" not in instrument.definition(), "the content hash is unchanged"


def test_an_instrument_may_allow_non_completers_and_that_is_part_of_its_version(
    tmp_path: Path,
) -> None:
    shipped = load_instrument(SURVEYS / "follow-up-6m.yaml")
    text = (SURVEYS / "follow-up-6m.yaml").read_text(encoding="utf-8")
    path = tmp_path / "follow-up-6m.yaml"
    path.write_text(text.replace("\nsections:", "\nnon_completers: true\nsections:", 1))
    assert check_files([path]) == []
    allowing = load_instrument(path)
    assert allowing.non_completers is True
    assert allowing.content_hash != shipped.content_hash
    assert instrument_from_definition(allowing.definition()).non_completers is True


def test_non_completers_must_be_true_or_false(tmp_path: Path) -> None:
    text = (SURVEYS / "follow-up-6m.yaml").read_text(encoding="utf-8")
    path = tmp_path / "follow-up-6m.yaml"
    path.write_text(text.replace("\nsections:", '\nnon_completers: "yes"\nsections:', 1))
    [problem] = check_files([path])
    assert "non_completers" in str(problem)
