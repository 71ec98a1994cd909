"""The instrument file format as strict pydantic models (unknown keys are errors).

Structure only: rules that look across questions (ids unique, ``show_if`` over earlier
questions, one question per canonical field, ...) live in ``rules.py`` so that the checker
can report each with the line of the question it concerns.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outcomes.instruments.codes import LIKERT_SCALES

QuestionType = Literal[
    "single_choice",
    "multiple_choice",
    "yes_no",
    "integer",
    "decimal",
    "money",
    "likert",
    "scale_0_10",
    "short_text",
    "long_text",
    "month_year",
    "country",
    "occupation",
    "industry",
]
QUESTION_TYPES: tuple[str, ...] = QuestionType.__args__  # type: ignore[attr-defined]
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
NUMBER_TYPES = frozenset({"integer", "decimal", "money"})
TEXT_TYPES = frozenset({"short_text", "long_text"})
CODED_TYPES = frozenset({"country", "occupation", "industry"})
# Longest text accepted when a question sets no max_length: a phone answer, not an essay.
DEFAULT_MAX_LENGTH = {"short_text": 200, "long_text": 4000}

IDENTIFIER = r"^[a-z][a-z0-9_]{0,39}$"
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Text(_Strict):
    """User-facing wording in every supported language."""

    en: str = Field(min_length=1)
    es: str = Field(min_length=1)

    @field_validator("en", "es")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("translation is blank")
        return value

    def get(self, language: str) -> str:
        """The wording in ``language`` (English for a language we do not have)."""
        return self.es if language == "es" else self.en


class Choice(_Strict):
    """One option of a choice question: a stable code and its label."""

    code: str = Field(pattern=CODE)
    label: Text


class Validation(_Strict):
    """Limits on an answer; which keys apply depends on the question type."""

    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=20_000)
    pattern: str | None = None
    min_choices: int | None = Field(default=None, ge=1)
    max_choices: int | None = Field(default=None, ge=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Validation:
        for low, high in (("min", "max"), ("min_length", "max_length")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{low} ({a}) is greater than {high} ({b})")
        if self.min_choices and self.max_choices and self.min_choices > self.max_choices:
            raise ValueError("min_choices is greater than max_choices")
        return self


class Anchors(_Strict):
    """Labels of the two ends of a 0–10 scale."""

    low: Text
    high: Text


_ALLOWED_VALIDATION = {
    "integer": {"min", "max"},
    "decimal": {"min", "max"},
    "money": {"min", "max"},
    "short_text": {"min_length", "max_length", "pattern"},
    "long_text": {"min_length", "max_length", "pattern"},
    "multiple_choice": {"min_choices", "max_choices"},
}


class Question(_Strict):
    """One question; the keys that apply depend on ``type``."""

    id: str = Field(pattern=IDENTIFIER)
    type: QuestionType
    text: Text
    help: Text | None = None
    required: bool = False
    soft_required: bool = False
    show_if: str | None = None
    canonical: str | None = None
    choices: list[Choice] | None = None
    validation: Validation | None = None
    scale: str | None = None
    labels: list[Text] | None = None
    anchors: Anchors | None = None
    currencies: list[str] | None = None
    unit: Text | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> Question:
        kind = self.type
        if self.required and self.soft_required:
            raise ValueError("a question is either required or soft_required, not both")
        if kind in CHOICE_TYPES:
            if not self.choices or len(self.choices) < 2:
                raise ValueError(f"a {kind} question needs at least two choices")
        elif self.choices is not None:
            raise ValueError(f"'choices' does not apply to a {kind} question")
        if kind == "likert":
            if (self.scale is None) == (self.labels is None):
                raise ValueError("a likert question needs either 'scale' or five 'labels'")
            if self.scale is not None and self.scale not in LIKERT_SCALES:
                known = ", ".join(sorted(LIKERT_SCALES))
                raise ValueError(f"unknown likert scale '{self.scale}' (known: {known})")
            if self.labels is not None and len(self.labels) != 5:
                raise ValueError(f"a likert question needs 5 labels, got {len(self.labels)}")
        elif self.scale is not None or self.labels is not None:
            raise ValueError(f"'scale' and 'labels' apply only to likert, not {kind}")
        if kind == "scale_0_10" and self.anchors is None:
            raise ValueError("a scale_0_10 question needs 'anchors' (low and high labels)")
        if kind != "scale_0_10" and self.anchors is not None:
            raise ValueError(f"'anchors' applies only to scale_0_10, not {kind}")
        if self.currencies is not None:
            if kind != "money":
                raise ValueError(f"'currencies' applies only to money, not {kind}")
            bad = [c for c in self.currencies if not re.fullmatch(r"[A-Z]{3}", c)]
            if bad or not self.currencies:
                raise ValueError(f"currencies must be ISO 4217 codes like EUR, got {bad}")
        if self.unit is not None and kind not in NUMBER_TYPES:
            raise ValueError(f"'unit' applies only to number questions, not {kind}")
        if self.validation is not None:
            given = {k for k, v in self.validation.model_dump().items() if v is not None}
            misplaced = given - _ALLOWED_VALIDATION.get(kind, set())
            if misplaced:
                names = ", ".join(sorted(misplaced))
                raise ValueError(f"validation {names} does not apply to a {kind} question")
        return self

    @property
    def requirement(self) -> str:
        """'required', 'soft_required' or 'optional'."""
        if self.required:
            return "required"
        return "soft_required" if self.soft_required else "optional"

    def likert_labels(self) -> tuple[Text, ...]:
        """The five labels of a likert question, lowest first."""
        if self.labels is not None:
            return tuple(self.labels)
        return tuple(Text(en=en, es=es) for en, es in LIKERT_SCALES.get(self.scale or "", ()))

    def choice_codes(self) -> tuple[str, ...]:
        """Codes of a choice question, in order (empty for other types)."""
        return tuple(choice.code for choice in self.choices or ())


class Section(_Strict):
    """A page of the survey: a title and its questions."""

    id: str = Field(pattern=IDENTIFIER)
    title: Text
    intro: Text | None = None
    questions: list[Question] = Field(min_length=1)


class PrivacyNotice(_Strict):
    """The privacy notice shown before the first question; consent records its version."""

    version: str = Field(min_length=1, max_length=40)
    text: Text
    url: str | None = None


class Instrument(_Strict):
    """A survey instrument: the parsed, checked content of one YAML file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")
    title: Text
    intro: Text
    privacy_notice: PrivacyNotice
    # Whether a wave may also invite learners who withdrew (``include_non_completers``): an
    # instrument worded "you completed" must leave it false, the default. Left out of the
    # stored definition when false, so the shipped instruments keep their content hash.
    non_completers: bool = False
    sections: list[Section] = Field(min_length=1)

    def questions(self) -> Iterator[Question]:
        """Every question, in the order a respondent meets them."""
        for section in self.sections:
            yield from section.questions

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return self._by_id.get(question_id)

    @cached_property
    def _by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions()}

    def definition(self) -> dict[str, Any]:
        """The JSON-ready definition stored with each version (defaults left out)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the definition: the version's identity."""
        canonical = json.dumps(
            self.definition(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
