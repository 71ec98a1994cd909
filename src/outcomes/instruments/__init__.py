"""Survey instruments as code: YAML files → strict models, skip logic, canonical outcomes.

The public API, re-exported here; see docs/surveys.md for the file format.
"""

from outcomes.instruments.answers import (
    AnswerMessage,
    ValidationReport,
    validate_answers,
    visible_questions,
)
from outcomes.instruments.canonical import (
    CanonicalOutcome,
    derive_outcome,
    in_career_outcomes_denominator,
    is_career_outcome,
)
from outcomes.instruments.checking import check_files
from outcomes.instruments.codebook import write_codebook
from outcomes.instruments.loading import (
    InstrumentError,
    Problem,
    instrument_from_definition,
    load_instrument,
    parse_instrument,
)
from outcomes.instruments.registry import load_shipped, shipped_instruments
from outcomes.instruments.schema import Instrument, Question, Section, Text

__all__ = [
    "AnswerMessage",
    "CanonicalOutcome",
    "Instrument",
    "InstrumentError",
    "Problem",
    "Question",
    "Section",
    "Text",
    "ValidationReport",
    "check_files",
    "derive_outcome",
    "in_career_outcomes_denominator",
    "instrument_from_definition",
    "is_career_outcome",
    "load_instrument",
    "load_shipped",
    "parse_instrument",
    "shipped_instruments",
    "validate_answers",
    "visible_questions",
    "write_codebook",
]
