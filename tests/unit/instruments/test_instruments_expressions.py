"""The show_if language: parsing, evaluation, and refusing anything that is not in it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.instruments.expressions import (
    ExpressionError,
    evaluate,
    parse_expression,
    references,
)

ANSWERS = {
    "activity": "employed",
    "hours": 32,
    "paid": True,
    "skills": ["python", "sql"],
    "rate": 7.5,
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('activity == "employed"', True),
        ("activity == 'employed'", True),
        ('activity != "employed"', False),
        ("hours >= 32", True),
        ("hours > 32", False),
        ("hours < 32.5", True),
        ("rate <= 7.5", True),
        ('activity in ["employed", "self_employed"]', True),
        ('activity not in ["employed"]', False),
        ('not activity in ["military"]', True),
        ("paid", True),
        ("paid == true", True),
        ("paid == 1", False),  # a boolean is not a number
        ('hours == "32"', False),  # nor is a string
        ('skills == "sql"', True),  # a multiple-choice answer contains the code
        ('skills in ["r", "python"]', True),
        ("answered(hours)", True),
        ("answered(missing)", False),
        ('missing == "x"', False),  # any comparison with an unanswered question is false
        ('missing != "x"', False),
        ('not (missing == "x")', True),
        ("missing in [1, 2]", False),
        ('hours > 10 and activity == "employed" or paid == false', True),
        ('hours > 40 or activity == "x" and paid', False),
        ('(hours > 40 or activity == "employed") and paid', True),
        ("not not paid", True),
        ('"b" > "a"', True),
        ('hours > "a"', False),  # values of different kinds never order
        ("true", True),
    ],
)
def test_conditions_evaluate_as_documented(condition: str, expected: bool) -> None:
    assert evaluate(parse_expression(condition), ANSWERS) is expected


def test_and_binds_tighter_than_or() -> None:
    node = parse_expression("a or b and c")
    assert evaluate(node, {"a": True, "b": True, "c": False}) is True
    assert evaluate(node, {"a": False, "b": True, "c": False}) is False


def test_references_lists_each_question_once_in_order() -> None:
    node = parse_expression('b == 1 and (answered(a) or b in [2]) and not c == "x"')
    assert references(node) == ["b", "a", "c"]


def test_escaped_quotes_inside_strings_are_literal() -> None:
    node = parse_expression(r'title == "say \"hi\""')
    assert evaluate(node, {"title": 'say "hi"'}) is True


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ("", "empty condition"),
        ("activity ==", "expected a string, a number, true or false at position 12"),
        ("hours > 3 3", "expected 'and', 'or' or the end"),
        ("(a == 1", "expected ')'"),
        ("a in (1, 2)", "expected '['"),
        ("a not 1", "expected 'in' after 'not'"),
        ("__import__('os').system('x')", "unexpected character '.'"),
        ("a == 1; b", "unexpected character ';'"),
        ("answered('a')", "expected a question id"),
        ("a = 1", "unexpected character '='"),
        ("not " * 100 + "a", "nested too deeply"),
    ],
)
def test_malformed_conditions_are_refused_with_a_reason(condition: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(condition)
    assert fragment in str(caught.value)


@given(st.text(max_size=80))
def test_any_text_either_parses_or_raises_expression_error(text: str) -> None:
    try:
        node = parse_expression(text)
    except ExpressionError:
        return
    assert evaluate(node, {}) in (True, False)


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.lists(st.text()),
    )
)
def test_evaluation_never_raises_whatever_the_answers(answers: dict[str, object]) -> None:
    node = parse_expression('a > 1 and b in ["x", 2, true] or not c == 1.5 or answered(a)')
    assert evaluate(node, answers) in (True, False)
