"""Answer validation: messages in the respondent's language, skip logic, completeness."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from instrument_files import instrument_yaml

from outcomes.instruments import Instrument, parse_instrument, validate_answers, visible_questions
from outcomes.instruments.registry import load_shipped

QUESTIONS = """\
- id: working
  type: yes_no
  required: true
  text: {en: "Are you working?", es: "¿Trabaja?"}
- id: hours
  type: integer
  required: true
  show_if: working == true
  text: {en: "Hours a week?", es: "¿Horas semanales?"}
  validation: {min: 1, max: 100}
- id: pay
  type: money
  soft_required: true
  show_if: working
  currencies: [EUR, USD]
  text: {en: "Pay?", es: "¿Sueldo?"}
- id: tools
  type: multiple_choice
  text: {en: "Tools?", es: "¿Herramientas?"}
  validation: {max_choices: 2}
  choices:
    - {code: python, label: {en: Python, es: Python}}
    - {code: sql, label: {en: SQL, es: SQL}}
    - {code: excel, label: {en: Excel, es: Excel}}
- id: code
  type: short_text
  text: {en: "Postcode?", es: "¿Código postal?"}
  validation: {pattern: "[0-9]{5}"}
- id: started
  type: month_year
  text: {en: "Started?", es: "¿Desde cuándo?"}
- id: country
  type: country
  text: {en: "Country?", es: "¿País?"}
- id: group
  type: occupation
  text: {en: "Job group?", es: "¿Grupo?"}
- id: nps
  type: scale_0_10
  required: true
  text: {en: "Recommend?", es: "¿Recomendaría?"}
  anchors: {low: {en: "No", es: "No"}, high: {en: "Yes", es: "Sí"}}
"""


@pytest.fixture(scope="module")
def instrument() -> Instrument:
    parsed, problems = parse_instrument(instrument_yaml(QUESTIONS))
    assert problems == [] and parsed is not None
    return parsed


def codes(report) -> dict[str, str]:
    return {m.question_id: m.code for m in report.messages}


def test_a_complete_valid_answer_set_is_accepted_and_normalised(instrument) -> None:
    answers = {
        "working": True,
        "hours": "37",
        "pay": {"amount": "2500.50", "currency": "eur", "period": "monthly"},
        "tools": ["sql", "python"],
        "code": "28001",
        "started": "2025-09",
        "country": "es",
        "group": 2,
        "nps": 9.0,
    }
    report = validate_answers(instrument, answers, "en")
    assert report.ok and report.complete and report.messages == ()
    assert report.cleaned == {
        "working": True,
        "hours": 37,
        "pay": {"amount": 2500.5, "currency": "EUR", "period": "monthly"},
        "tools": ["python", "sql"],
        "code": "28001",
        "started": "2025-09",
        "country": "ES",
        "group": "2",
        "nps": 9,
    }


def test_missing_required_answers_make_the_response_incomplete(instrument) -> None:
    report = validate_answers(instrument, {"working": True}, "en")
    assert not report.complete
    assert codes(report) == {"hours": "required", "pay": "soft_required", "nps": "required"}
    assert report.for_question("hours")[0].text == "Please answer this question."


def test_messages_are_in_the_answer_language(instrument) -> None:
    report = validate_answers(instrument, {"working": True, "hours": 500}, "es")
    assert (
        report.for_question("hours")[0].text == "Por favor, introduzca un valor de como máximo 100."
    )
    assert report.for_question("nps")[0].text == "Por favor, responda a esta pregunta."


def test_an_unknown_language_falls_back_to_english(instrument) -> None:
    report = validate_answers(instrument, {}, "fr")
    assert report.for_question("working")[0].text == "Please answer this question."


def test_answers_to_hidden_questions_are_cleared(instrument) -> None:
    answers = {"working": False, "hours": 40, "pay": {"amount": 9, "currency": "EUR"}, "nps": 7}
    report = validate_answers(instrument, answers, "en")
    assert report.ok and report.complete
    assert report.cleared == ("hours", "pay")
    assert "hours" not in report.cleaned and "pay" not in report.cleaned
    assert "hours" not in report.visible


def test_an_invalid_earlier_answer_hides_the_questions_that_depend_on_it(instrument) -> None:
    report = validate_answers(instrument, {"working": "yes", "hours": 40, "nps": 5}, "en")
    assert codes(report) == {"working": "yes_no"}
    assert report.cleared == ("hours",)
    assert not report.complete


def test_a_soft_warning_is_given_once_then_the_question_may_be_skipped(instrument) -> None:
    answers = {"working": True, "hours": 20, "nps": 3}
    first = validate_answers(instrument, answers, "en")
    assert first.ok and first.complete and codes(first) == {"pay": "soft_required"}
    again = validate_answers(instrument, answers, "en", acknowledged={"pay"})
    assert again.messages == ()


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        ("hours", 2.5, "integer"),
        ("hours", True, "integer"),
        ("hours", "12abc", "integer"),
        ("hours", 0, "min"),
        ("hours", math.inf, "number"),
        ("hours", 10**400, "max"),
        ("pay", {"amount": 10, "currency": "GBP", "period": "monthly"}, "currency"),
        ("pay", {"amount": 10, "currency": "EUR", "period": "daily"}, "period"),
        ("pay", {"amount": -1, "currency": "EUR", "period": "annual"}, "min"),
        ("pay", "lots", "money"),
        ("tools", ["python", "python"], "not_choices"),
        ("tools", ["python", "sql", "excel"], "max_choices"),
        ("tools", "python", "not_choices"),
        ("code", "1234", "pattern"),
        ("code", "x" * 5000, "max_length"),
        ("code", "12\x0045", "bad_characters"),
        ("code", "\ud800", "bad_characters"),
        ("started", "2025-13", "month_year"),
        ("started", "09/2025", "month_year"),
        ("country", "XX", "not_a_choice"),
        ("group", 10, "not_a_choice"),
        ("nps", 11, "scale"),
        ("nps", "nine", "scale"),
    ],
)
def test_invalid_answers_are_rejected_with_a_reason(instrument, question, value, code) -> None:
    answers = {"working": True, "hours": 10, "nps": 5, question: value}
    report = validate_answers(instrument, answers, "en")
    assert codes(report).get(question) == code
    assert question not in report.cleaned


def test_answers_that_are_not_an_object_are_reported_not_raised(instrument) -> None:
    report = validate_answers(instrument, ["working", True], "en")
    assert codes(report)[""] == "not_an_object"
    assert not report.ok and not report.complete


def test_visible_questions_follow_the_answers_so_far(instrument) -> None:
    before = [q.id for q in visible_questions(instrument, {})]
    after = [q.id for q in visible_questions(instrument, {"working": True})]
    assert "hours" not in before
    assert after[:3] == ["working", "hours", "pay"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=50)
    | st.text(min_size=4000, max_size=6000, alphabet="ab"),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def answer_sets(instrument: Instrument) -> st.SearchStrategy[object]:
    ids = [q.id for q in instrument.questions()]
    keys = st.sampled_from(ids) | st.text(max_size=10)
    return st.dictionaries(keys, json_values, max_size=len(ids) + 2) | json_values


SHIPPED = {key: load_shipped(key) for key in ("exit", "follow-up-6m", "follow-up-36m")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), key=st.sampled_from(sorted(SHIPPED)), language=st.sampled_from(["en", "es"]))
def test_random_answer_sets_never_crash_validation(data, key: str, language: str) -> None:
    instrument = SHIPPED[key]
    answers = data.draw(answer_sets(instrument))
    report = validate_answers(instrument, answers, language)
    # Accepted or rejected: every rejection carries a message, and what was kept is valid.
    assert all(m.text for m in report.messages)
    if not report.complete:
        assert report.errors
    again = validate_answers(instrument, report.cleaned, language)
    assert again.cleaned == report.cleaned
    assert all(m.code in {"required"} for m in again.errors)
    assert set(report.cleaned) <= set(report.visible)
