"""The rules of an outcome from another source, and the reading of a CSV row: pure, no database."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from outcomes.config import Settings
from outcomes.fieldwork.source_rules import (
    OtherOutcome,
    OutcomeRefused,
    check_in_context,
    outcome_measures,
    parse_outcome,
)
from outcomes.fieldwork.sources_csv import CSV_COLUMNS, Reject, parse_row, read_rows

SETTINGS = Settings(fulltime_hours=35.0, salary_floor=12_000.0)
TODAY = dt.date(2025, 3, 1)


def _outcome(**values: object) -> OtherOutcome:
    base: dict[str, object] = {
        "learner": "ana@example.org",
        "wave": 1,
        "source": "phone",
        "activity": "employed_full_time",
    }
    return parse_outcome({**base, **values})


def test_the_date_observed_defaults_to_today_and_the_full_time_threshold_is_the_setting() -> None:
    observed, problems = check_in_context(
        _outcome(hours_per_week=32.0), SETTINGS, awarded_on=dt.date(2024, 7, 1), today=TODAY
    )
    assert observed == TODAY
    assert [p.message for p in problems] == [
        "32 hours per week is below the full-time threshold of 35: choose employed_part_time, "
        "or correct the hours."
    ]
    _, fine = check_in_context(
        _outcome(activity="employed_part_time", hours_per_week=32.0),
        SETTINGS,
        awarded_on=None,
        today=TODAY,
    )
    assert fine == []


def test_a_salary_is_annualised_by_the_survey_s_own_rules() -> None:
    weekly = _outcome(salary=500.0, currency="eur", period="Weekly", hours_per_week=40.0)
    values, note = outcome_measures(weekly, SETTINGS)
    assert (values["salary_annual"], values["salary_excluded"], note) == (26_000.0, False, None)
    assert values["satisfaction"] is None and values["activity"] == "employed_full_time"
    low, low_note = outcome_measures(
        _outcome(salary=900.0, currency="EUR", period="monthly"), SETTINGS
    )
    assert (low["salary_annual"], low["salary_excluded"]) == (10_800.0, True)
    assert low_note == "below the salary floor of 12,000 EUR"


def test_strict_input_refuses_text_where_a_number_is_due() -> None:
    try:
        parse_outcome(
            {
                "learner": "x",
                "wave": 1,
                "source": "phone",
                "activity": "military",
                "job_related": "4",
            }
        )
    except OutcomeRefused as refused:
        assert str(refused) == "Job relatedness must be a whole number from 1 to 5."
    else:
        raise AssertionError("a string for job_related was accepted")


def test_a_row_s_cells_become_typed_values_and_empty_cells_none() -> None:
    outcome = parse_row(
        2,
        {
            "email": " ana@example.org ",
            "wave": "2024 cohort",
            "source": "employer",
            "observed_on": "2025-02-01",
            "activity": "employed_full_time",
            "hours": "37.5",
            "salary": "",
            "job_related": "5",
            "note": "=1+2",
        },
    )
    assert isinstance(outcome, OtherOutcome)
    assert (outcome.learner, outcome.learner_by, outcome.wave) == (
        "ana@example.org",
        "email",
        "2024 cohort",
    )
    assert (outcome.hours_per_week, outcome.salary, outcome.job_related) == (37.5, None, 5)
    assert outcome.note == "=1+2"  # stored as the text it is


cells = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(st.dictionaries(st.sampled_from(CSV_COLUMNS), cells))
def test_any_row_gives_an_outcome_or_rejects_never_an_exception(row: dict[str, str]) -> None:
    result = parse_row(7, row)
    if isinstance(result, list):
        assert result and all(isinstance(r, Reject) and r.row == 7 for r in result)
        assert all(r.message.endswith((".", ")")) for r in result)
    else:
        assert isinstance(result, OtherOutcome)


def test_a_byte_order_mark_and_blank_lines_are_not_rows() -> None:
    header, rows = read_rows(
        "\ufeffEmail, Wave ,source,activity\r\n\r\na@b.org,1,phone,military\r\n,,,\r\n"
    )
    assert header == ["email", "wave", "source", "activity"]
    assert rows == [
        (3, {"email": "a@b.org", "wave": "1", "source": "phone", "activity": "military"})
    ]
