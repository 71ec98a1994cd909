"""HTML form fields ↔ answers, for every question type of the instrument format (pure).

A section posts ``application/x-www-form-urlencoded`` fields; each question owns the fields
named after its id (a money question owns ``<id>.amount``, ``<id>.currency`` and
``<id>.period``). ``answers_from_form`` turns the posted fields of a section's questions into
raw answers for ``instruments.answers.validate_answers`` (which does every check and gives
the messages); ``form_values`` turns stored answers back into what the fields show, so a
resumed or revised section comes back filled in. Values are passed through as typed, never
guessed: "12,5" stays text and gets the validator's "Please enter a number".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from outcomes.instruments.schema import Question

YES, NO = "yes", "no"


def field_names(question: Question) -> tuple[str, ...]:
    """The form fields a question owns."""
    if question.type == "money":
        return (f"{question.id}.amount", f"{question.id}.currency", f"{question.id}.period")
    return (question.id,)


def _first(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name) or ()
    return values[0] if values else None


def raw_answer(question: Question, form: Mapping[str, Sequence[str]]) -> Any:
    """The raw answer a question's fields carry (None when nothing was given)."""
    kind = question.type
    if kind == "multiple_choice":
        chosen = [v for v in form.get(question.id) or () if v != ""]
        return chosen or None
    if kind == "money":
        amount = _first(form, f"{question.id}.amount")
        if amount is None or not amount.strip():
            return None
        return {
            "amount": amount.strip(),
            "currency": _first(form, f"{question.id}.currency"),
            "period": _first(form, f"{question.id}.period"),
        }
    value = _first(form, question.id)
    if value is None or not value.strip():
        return None
    if kind == "yes_no":
        return {YES: True, NO: False}.get(value, value)
    if kind in {"short_text", "long_text"}:
        return value
    return value.strip()


def answers_from_form(
    questions: Sequence[Question], form: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Raw answers of ``questions`` from posted fields; unanswered questions are left out."""
    answers: dict[str, Any] = {}
    for question in questions:
        value = raw_answer(question, form)
        if value is not None:
            answers[question.id] = value
    return answers


def form_values(question: Question, answer: Any) -> dict[str, Any]:
    """What each of the question's fields shows for a stored (or just posted) answer.

    Single-valued fields map to a string, a multiple choice to a list of codes.
    """
    kind = question.type
    if kind == "multiple_choice":
        return {question.id: [str(v) for v in answer] if isinstance(answer, list) else []}
    if kind == "money":
        money = answer if isinstance(answer, Mapping) else {}
        amount = money.get("amount")
        if isinstance(amount, float) and amount.is_integer():
            amount = int(amount)
        return {
            f"{question.id}.amount": "" if amount is None else str(amount),
            f"{question.id}.currency": str(money.get("currency") or ""),
            f"{question.id}.period": str(money.get("period") or ""),
        }
    if answer is None:
        return {question.id: ""}
    if kind == "yes_no":
        if isinstance(answer, bool):
            return {question.id: YES if answer else NO}
        return {question.id: str(answer)}
    if isinstance(answer, float) and answer.is_integer() and kind != "decimal":
        answer = int(answer)
    return {question.id: str(answer)}
