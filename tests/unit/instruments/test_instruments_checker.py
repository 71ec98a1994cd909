"""The checker reports every kind of broken file with its file, line and question."""

from __future__ import annotations

from pathlib import Path

import pytest
from instrument_files import FIRST_QUESTION_LINE

from outcomes.instruments import InstrumentError, check_files, load_instrument
from outcomes.instruments.loading import Problem

CHOICE_Q = """\
- id: colour
  type: single_choice
  text: {en: "Colour?", es: "¿Color?"}
  choices:
    - {code: red, label: {en: "Red", es: "Rojo"}}
    - {code: blue, label: {en: "Blue", es: "Azul"}}
"""


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_a_valid_file_has_no_problems(write_instrument) -> None:
    assert check_files([write_instrument(CHOICE_Q)]) == []


def test_a_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntitle: {en: a, es: b\nintro: x\n", encoding="utf-8")
    problem = only(check_files([path]))
    assert problem.message.startswith("YAML syntax error")
    assert problem.line == 3
    assert str(problem).startswith(f"{path}:3: -: YAML syntax error")


def test_an_unsafe_yaml_tag_is_reported_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "unsafe.yaml"
    for line, tagged in [(2, "!!python/object/apply:os.system [ls]"), (3, "!!python/name:os.sep")]:
        text = "id: unsafe\n" + "# padding\n" * (line - 2) + f"title: {tagged}\n"
        path.write_text(text, encoding="utf-8")
        problem = only(check_files([path]))
        assert problem.line == line
        assert "could not determine a constructor" in problem.message


def test_a_show_if_that_refers_to_a_later_question_is_reported_with_its_line(
    write_instrument,
) -> None:
    path = write_instrument(
        """\
        - id: first
          type: yes_no
          text: {en: "First?", es: "¿Primera?"}
          show_if: second == true
        - id: second
          type: yes_no
          text: {en: "Second?", es: "¿Segunda?"}
        """
    )
    problem = only(check_files([path]))
    assert problem.question_id == "first"
    assert problem.line == FIRST_QUESTION_LINE + 3
    assert "refers to 'second', which is not an earlier question" in problem.message


def test_a_show_if_that_refers_to_an_unknown_question_is_reported(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "  show_if: answered(ghost)\n")
    problem = only(check_files([path]))
    assert problem.question_id == "colour"
    assert problem.message == "show_if refers to unknown question 'ghost'"
    assert problem.line == FIRST_QUESTION_LINE + 6


def test_a_circular_show_if_condition_is_reported_as_a_cycle(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: a
          type: yes_no
          text: {en: "A?", es: "¿A?"}
          show_if: b == true
        - id: b
          type: yes_no
          text: {en: "B?", es: "¿B?"}
          show_if: a == true
        """
    )
    problems = check_files([path])
    assert [p.message for p in problems] == [
        "circular show_if condition: a -> b -> a",
        "circular show_if condition: b -> a -> b",
    ]
    assert [p.line for p in problems] == [FIRST_QUESTION_LINE + 3, FIRST_QUESTION_LINE + 7]


def test_a_question_whose_condition_names_itself_is_circular(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + '  show_if: colour == "red"\n')
    assert only(check_files([path])).message == "circular show_if condition: colour -> colour"


def test_a_show_if_that_cannot_be_parsed_is_reported_with_the_position(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + '  show_if: colour == "red" and\n')
    problem = only(check_files([path]))
    assert problem.message.startswith("show_if cannot be parsed: expected a string")
    assert "position 20" in problem.message


def test_a_show_if_comparing_with_a_code_the_question_lacks_is_reported(write_instrument) -> None:
    path = write_instrument(
        CHOICE_Q
        + """\
- id: why
  type: short_text
  text: {en: "Why?", es: "¿Por qué?"}
  show_if: colour == "gren"
"""
    )
    problem = only(check_files([path]))
    assert problem.question_id == "why"
    assert "'gren', which is not one of its codes" in problem.message


def test_a_choice_code_used_twice_is_reported_on_the_second_use(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "    - {code: red, label: {en: Crimson, es: Carmesí}}\n")
    problem = only(check_files([path]))
    assert problem.question_id == "colour"
    assert problem.message == "choice code 'red' is used twice"
    assert problem.line == FIRST_QUESTION_LINE + 6


def test_a_canonical_field_mapped_by_two_questions_is_reported(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: nps_a
          type: scale_0_10
          canonical: nps
          text: {en: "Recommend?", es: "¿Recomendaría?"}
          anchors: {low: {en: "No", es: "No"}, high: {en: "Yes", es: "Sí"}}
        - id: nps_b
          type: scale_0_10
          canonical: nps
          text: {en: "Recommend again?", es: "¿Recomendaría otra vez?"}
          anchors: {low: {en: "No", es: "No"}, high: {en: "Yes", es: "Sí"}}
        """
    )
    problem = only(check_files([path]))
    assert problem.question_id == "nps_b"
    assert problem.message == "canonical field 'nps' is already mapped by question 'nps_a'"
    assert problem.line == FIRST_QUESTION_LINE + 7


def test_a_canonical_field_on_a_question_of_the_wrong_type_is_reported(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: pay
          type: integer
          canonical: salary
          text: {en: "Pay?", es: "¿Sueldo?"}
        """
    )
    assert "needs a money question, not integer" in only(check_files([path])).message


def test_activity_codes_outside_the_outcome_vocabulary_are_reported(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "  canonical: activity\n")
    problem = only(check_files([path]))
    assert problem.message.startswith("activity codes ['blue', 'red'] are not activities")


def test_a_missing_spanish_translation_is_reported_with_its_line(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: name
          type: short_text
          text:
            en: Your name?
        """
    )
    problem = only(check_files([path]))
    assert problem.question_id == "name"
    assert problem.message == "missing Spanish translation ('es') of text"
    assert problem.line == FIRST_QUESTION_LINE + 2


def test_an_unknown_key_is_reported_on_its_own_line(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "  colour_hint: oops\n")
    problem = only(check_files([path]))
    assert problem.message == "unknown key 'colour_hint'"
    assert problem.line == FIRST_QUESTION_LINE + 6


def test_a_value_of_the_wrong_type_is_reported_with_the_value(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + '  required: "yes"\n')
    problem = only(check_files([path]))
    assert "required" in problem.message and "'yes'" in problem.message
    assert problem.line == FIRST_QUESTION_LINE + 6


def test_an_unknown_question_type_is_reported(write_instrument) -> None:
    path = write_instrument("- {id: x, type: slider, text: {en: X, es: X}}\n")
    assert "slider" in only(check_files([path])).message


def test_a_key_that_appears_twice_is_reported(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "  id: again\n")
    problems = check_files([path])
    assert any(p.message == "key 'id' appears twice" for p in problems)


def test_settings_that_do_not_fit_the_question_type_are_reported(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: age
          type: integer
          text: {en: "Age?", es: "¿Edad?"}
          validation: {max_length: 3}
        """
    )
    problem = only(check_files([path]))
    assert problem.message == "validation max_length does not apply to a integer question"


def test_canonical_hours_must_be_bounded_to_fit_the_outcome_table(write_instrument) -> None:
    path = write_instrument(
        """\
        - id: hours
          type: integer
          canonical: hours_per_week
          text: {en: "Hours?", es: "¿Horas?"}
        """
    )
    assert "needs validation min >= 0 and max <= 168" in only(check_files([path])).message


def test_an_instrument_id_that_differs_from_the_file_name_is_reported(tmp_path: Path) -> None:
    source = (Path(__file__).parents[3] / "surveys" / "exit.yaml").read_text(encoding="utf-8")
    path = tmp_path / "renamed.yaml"
    path.write_text(source, encoding="utf-8")
    assert "does not match the file name 'renamed'" in only(check_files([path])).message


def test_an_unreadable_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    problem = only(check_files([tmp_path / "missing.yaml"]))
    assert problem.message.startswith("cannot read file")


def test_check_files_expands_directories(tmp_path: Path, write_instrument) -> None:
    write_instrument(CHOICE_Q, name="one")
    (tmp_path / "two.yaml").write_text("id: [\n", encoding="utf-8")
    problems = check_files([tmp_path])
    assert [Path(p.file).name for p in problems] == ["two.yaml"]


def test_load_instrument_raises_one_sentence_naming_file_and_line(write_instrument) -> None:
    path = write_instrument(CHOICE_Q + "  colour_hint: oops\n")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert (
        str(caught.value) == f"{path}:{FIRST_QUESTION_LINE + 6}: colour: unknown key 'colour_hint'"
    )
