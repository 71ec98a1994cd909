"""Answer validation: which questions are visible, which answers are valid, is it complete.

Answers arrive as JSON (question id → value) from a browser or the database, so nothing here
trusts their shape: any value of any type is either normalised or reported, never raised on.
Questions are walked in order; a ``show_if`` sees only the valid answers to questions before
it, and answers to hidden questions are cleared (a respondent who changes an earlier answer
must not leave stale data behind in a branch they no longer see).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from outcomes.instruments.codes import coded_list
from outcomes.instruments.expressions import ExpressionError, evaluate, parse_expression
from outcomes.instruments.messages import message
from outcomes.instruments.schema import DEFAULT_MAX_LENGTH, Instrument, Question
from outcomes.vocab import SALARY_PERIODS

Severity = Literal["error", "warning"]
_MONTH_YEAR = re.compile(r"(\d{4})-(\d{2})")
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,15}")
_DECIMAL_TEXT = re.compile(r"[+-]?(\d{1,15}(\.\d{0,6})?|\.\d{1,6})")
_MAX_NUMBER = 1e12  # beyond any salary or count a survey asks for; keeps floats exact-ish


@dataclass(frozen=True)
class AnswerMessage:
    """One message about one question's answer (question_id '' for the whole answer set)."""

    question_id: str
    severity: Severity
    code: str
    text: str


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating an answer set."""

    messages: tuple[AnswerMessage, ...]
    cleaned: dict[str, Any] = field(hash=False)
    visible: tuple[str, ...]
    cleared: tuple[str, ...]
    complete: bool

    @property
    def ok(self) -> bool:
        """True when no answer has a hard error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[AnswerMessage, ...]:
        """Hard errors: the answer cannot be accepted as given."""
        return tuple(m for m in self.messages if m.severity == "error")

    @property
    def warnings(self) -> tuple[AnswerMessage, ...]:
        """Soft warnings: shown once, the respondent may go on."""
        return tuple(m for m in self.messages if m.severity == "warning")

    def for_question(self, question_id: str) -> tuple[AnswerMessage, ...]:
        """Messages about one question."""
        return tuple(m for m in self.messages if m.question_id == question_id)


class _Invalid(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params


def is_unanswered(value: object) -> bool:
    """True for a value that means "no answer": missing, null, blank text, empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def _unanswered(question: Question, value: object) -> bool:
    # A money widget always sends its currency and period; no amount means no answer.
    if question.type == "money" and isinstance(value, Mapping):
        return is_unanswered(value.get("amount"))
    return is_unanswered(value)


def _number(value: object, *, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise _Invalid("integer" if integer else "number")
    if isinstance(value, str):
        text = value.strip()
        pattern = _INTEGER_TEXT if integer else _DECIMAL_TEXT
        if not pattern.fullmatch(text):
            raise _Invalid("integer" if integer else "number")
        value = int(text) if integer else float(text)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("number")
        if integer:
            if not value.is_integer():
                raise _Invalid("integer")
            value = int(value)
    if not isinstance(value, int | float):
        raise _Invalid("integer" if integer else "number")
    if abs(value) > _MAX_NUMBER:
        raise _Invalid("max", n=f"{_MAX_NUMBER:.0f}")
    return value


def _bounded(number: float, question: Question) -> None:
    rules = question.validation
    if rules is None:
        return
    if rules.min is not None and number < rules.min:
        raise _Invalid("min", n=_show(rules.min))
    if rules.max is not None and number > rules.max:
        raise _Invalid("max", n=_show(rules.max))


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _text(value: object, question: Question) -> str:
    if not isinstance(value, str):
        raise _Invalid("text")
    text = value.strip()
    rules = question.validation
    max_length = rules.max_length if rules and rules.max_length else None
    limit = max_length or DEFAULT_MAX_LENGTH.get(question.type, 200)
    if len(text) > limit:
        raise _Invalid("max_length", n=limit)
    # NUL and lone surrogates cannot be stored in PostgreSQL JSON or encoded as UTF-8.
    if "\x00" in text or not _encodable(text):
        raise _Invalid("bad_characters")
    if question.type == "short_text":
        text = " ".join(text.split())
    if rules and rules.min_length and len(text) < rules.min_length:
        raise _Invalid("min_length", n=rules.min_length)
    if rules and rules.pattern and not re.fullmatch(rules.pattern, text):
        raise _Invalid("pattern")
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _choice(value: object, codes: Collection[str]) -> str:
    if not isinstance(value, str) or value not in codes:
        raise _Invalid("not_a_choice")
    return value


def _choices(value: object, question: Question) -> list[str]:
    codes = question.choice_codes()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Invalid("not_choices")
    if any(v not in codes for v in value) or len(set(value)) != len(value):
        raise _Invalid("not_choices")
    rules = question.validation
    if rules and rules.min_choices and len(value) < rules.min_choices:
        raise _Invalid("min_choices", n=rules.min_choices)
    if rules and rules.max_choices and len(value) > rules.max_choices:
        raise _Invalid("max_choices", n=rules.max_choices)
    # Store in the order the options are listed so equal answers compare equal.
    return [code for code in codes if code in value]


def _money(value: object, question: Question) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid("money")
    amount = _number(value.get("amount"), integer=False)
    if amount < 0:
        raise _Invalid("min", n=0)
    _bounded(amount, question)
    currency = value.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency.strip()):
        raise _Invalid("currency")
    currency = currency.strip().upper()
    if question.currencies is not None and currency not in question.currencies:
        raise _Invalid("currency")
    period = value.get("period")
    if period not in SALARY_PERIODS:
        raise _Invalid("period")
    return {"amount": amount, "currency": currency, "period": period}


def _scale(value: object, low: int, high: int) -> int:
    try:
        number = _number(value, integer=True)
    except _Invalid:
        raise _Invalid("scale", low=low, high=high) from None
    if not low <= number <= high:
        raise _Invalid("scale", low=low, high=high)
    return int(number)


def _month_year(value: object) -> str:
    match = _MONTH_YEAR.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not 1900 <= int(match[1]) <= 2100 or not 1 <= int(match[2]) <= 12:
        raise _Invalid("month_year")
    return match.group()


def _coded(value: object, question: Question) -> str:
    codes: Mapping[str, tuple[str, str]] = coded_list(question.type) or {}
    if isinstance(value, int) and not isinstance(value, bool) and question.type == "occupation":
        value = str(value)
    if not isinstance(value, str):
        raise _Invalid("not_a_choice")
    code = value.strip().upper()
    if code not in codes:
        raise _Invalid("not_a_choice")
    return code


def normalise_answer(question: Question, value: object) -> Any:
    """The answer in canonical form, or raise ``_Invalid`` with the reason (internal)."""
    kind = question.type
    if kind == "single_choice":
        return _choice(value, question.choice_codes())
    if kind == "multiple_choice":
        return _choices(value, question)
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise _Invalid("yes_no")
        return value
    if kind in {"integer", "decimal"}:
        number = _number(value, integer=kind == "integer")
        _bounded(number, question)
        return number
    if kind == "money":
        return _money(value, question)
    if kind == "likert":
        return _scale(value, 1, 5)
    if kind == "scale_0_10":
        return _scale(value, 0, 10)
    if kind in {"short_text", "long_text"}:
        return _text(value, question)
    if kind == "month_year":
        return _month_year(value)
    return _coded(value, question)


_parsed = lru_cache(maxsize=2048)(parse_expression)


def _is_shown(question: Question, cleaned: Mapping[str, Any]) -> bool:
    if question.show_if is None:
        return True
    # Instruments are checked on load, so the condition parses; a hand-built one that
    # does not is treated as "never shown" rather than crashing a respondent's page.
    try:
        return evaluate(_parsed(question.show_if), cleaned)
    except ExpressionError:
        return False


def validate_answers(
    instrument: Instrument,
    answers: object,
    language: str = "en",
    *,
    acknowledged: Collection[str] = (),
) -> ValidationReport:
    """Check an answer set: messages in ``language``, cleaned answers, completeness.

    ``acknowledged`` lists soft-required questions whose warning the respondent has already
    seen; they are not warned about again ("warn once, may skip").
    """
    messages: list[AnswerMessage] = []
    source: Mapping[Any, Any]
    if isinstance(answers, Mapping):
        source = answers
    else:
        source = {}
        if answers is not None:
            text = message("not_an_object", language)
            messages.append(AnswerMessage("", "error", "not_an_object", text))
    cleaned: dict[str, Any] = {}
    visible: list[str] = []
    cleared: list[str] = []
    complete = True
    for question in instrument.questions():
        value = source.get(question.id)
        if not _is_shown(question, cleaned):
            if not _unanswered(question, value):
                cleared.append(question.id)
            continue
        visible.append(question.id)
        if _unanswered(question, value):
            if question.required:
                complete = False
                text = message("required", language)
                messages.append(AnswerMessage(question.id, "error", "required", text))
            elif question.soft_required and question.id not in acknowledged:
                text = message("soft_required", language)
                messages.append(AnswerMessage(question.id, "warning", "soft_required", text))
            continue
        try:
            cleaned[question.id] = normalise_answer(question, value)
        except _Invalid as problem:
            complete = complete and not question.required
            text = message(problem.code, language, **problem.params)
            messages.append(AnswerMessage(question.id, "error", problem.code, text))
    return ValidationReport(
        messages=tuple(messages),
        cleaned=cleaned,
        visible=tuple(visible),
        cleared=tuple(cleared),
        complete=complete,
    )


def visible_questions(instrument: Instrument, answers: object) -> list[Question]:
    """The questions a respondent sees, in order, given the answers so far."""
    report = validate_answers(instrument, answers)
    shown = set(report.visible)
    return [q for q in instrument.questions() if q.id in shown]
