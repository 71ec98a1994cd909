"""Deriving the canonical outcome from answers (domain.md section 4)."""

from __future__ import annotations

import pytest

from outcomes.config import get_settings
from outcomes.instruments import derive_outcome, in_career_outcomes_denominator, is_career_outcome
from outcomes.instruments.canonical import OUTCOME_COLUMNS, CanonicalOutcome
from outcomes.instruments.registry import load_shipped
from outcomes.store.tables import Outcome
from outcomes.vocab import ACTIVITIES

SETTINGS = get_settings(
    {
        "OUTCOMES_FULLTIME_HOURS": "30",
        "OUTCOMES_BASE_CURRENCY": "EUR",
        "OUTCOMES_EXCHANGE_RATES": "USD=0.9",
        "OUTCOMES_SALARY_FLOOR": "12000",
    }
)
SIX_MONTHS = load_shipped("follow-up-6m")
EXIT = load_shipped("exit")


def job(hours: int | None, amount: float, period: str, currency: str = "EUR") -> dict:
    answers: dict = {
        "activity": "employed",
        "pay": {"amount": amount, "currency": currency, "period": period},
        "had_job_before": True,
        "satisfaction": 4,
    }
    if hours is not None:
        answers["hours"] = hours
    return answers


@pytest.mark.parametrize(
    ("answers", "activity", "salary", "excluded", "reason"),
    [
        # hourly pay is annualised with the usual hours: 20 × 37 × 52
        (job(37, 20, "hourly"), "employed_full_time", 38_480.0, False, None),
        (job(35, 600, "weekly"), "employed_full_time", 31_200.0, False, None),
        (job(40, 2_500, "monthly"), "employed_full_time", 30_000.0, False, None),
        (job(40, 45_000, "annual"), "employed_full_time", 45_000.0, False, None),
        # exactly at the threshold counts as full-time; one hour below does not
        (job(30, 30_000, "annual"), "employed_full_time", 30_000.0, False, None),
        (job(29, 30_000, "annual"), "employed_part_time", 30_000.0, False, None),
        # below the floor: kept but excluded, as HESA does
        (job(40, 900, "monthly"), "employed_full_time", 10_800.0, True, "below the salary floor"),
        # foreign currency with a rate is converted; without one it cannot be used
        (job(40, 50_000, "annual", "USD"), "employed_full_time", 45_000.0, False, None),
        (job(40, 50_000, "annual", "GBP"), "employed_full_time", None, True, "no exchange rate"),
        # employed with unknown hours is classed part-time (no guessed full-time salary)
        (job(None, 30_000, "annual"), "employed_part_time", 30_000.0, False, None),
    ],
)
def test_salary_and_activity_are_derived_by_the_domain_rules(
    answers, activity, salary, excluded, reason
) -> None:
    outcome = derive_outcome(SIX_MONTHS, answers, SETTINGS)
    assert outcome.activity == activity
    assert outcome.salary_annual == salary
    assert outcome.salary_excluded is excluded
    if reason is None:
        assert outcome.salary_exclusion_reason is None
    else:
        assert reason in (outcome.salary_exclusion_reason or "")


def test_the_fulltime_threshold_is_a_setting() -> None:
    qilt = get_settings({"OUTCOMES_FULLTIME_HOURS": "35"})
    assert derive_outcome(SIX_MONTHS, job(32, 1, "annual"), qilt).activity == "employed_part_time"
    assert (
        derive_outcome(SIX_MONTHS, job(32, 1, "annual"), SETTINGS).activity == "employed_full_time"
    )


def test_hourly_pay_without_hours_cannot_be_annualised() -> None:
    # Hours are required when working, so this arises only from a partial response.
    outcome = derive_outcome(SIX_MONTHS, job(None, 20, "hourly"), SETTINGS)
    assert outcome.salary_annual is None and outcome.salary_excluded
    assert outcome.salary_exclusion_reason == "hourly pay without hours per week"


@pytest.mark.parametrize(
    ("activity", "in_denominator", "career_outcome"),
    [
        ("employed_full_time", True, True),
        ("self_employed", True, True),
        ("voluntary", True, True),
        ("military", True, True),
        ("continuing_education", True, True),
        ("seeking_employment", True, False),
        ("seeking_study", True, False),
        ("not_seeking", False, False),
        ("unknown", False, False),
    ],
)
def test_not_seeking_and_unknown_are_outside_the_career_outcomes_denominator(
    activity, in_denominator, career_outcome
) -> None:
    assert in_career_outcomes_denominator(activity) is in_denominator
    assert is_career_outcome(activity) is career_outcome


def test_every_activity_is_classified_for_the_career_outcomes_rate() -> None:
    outside = {a for a in ACTIVITIES if not in_career_outcomes_denominator(a)}
    assert outside == {"not_seeking", "unknown"}


def test_a_graduate_not_seeking_work_has_no_job_fields() -> None:
    answers = {**job(40, 30_000, "annual"), "activity": "not_seeking"}
    outcome = derive_outcome(SIX_MONTHS, answers, SETTINGS)
    assert outcome.activity == "not_seeking"
    assert not outcome.in_career_outcomes_denominator
    assert (outcome.hours_per_week, outcome.salary_annual, outcome.employer) == (None, None, None)
    assert outcome.satisfaction == 4


def test_no_answers_give_an_unknown_activity() -> None:
    assert derive_outcome(SIX_MONTHS, {}, SETTINGS) == CanonicalOutcome()


def test_time_to_first_job_for_a_new_job_is_observed() -> None:
    answers = {**job(40, 30_000, "annual"), "had_job_before": False, "months_to_job": 3}
    outcome = derive_outcome(SIX_MONTHS, answers, SETTINGS)
    assert (outcome.months_to_first_job, outcome.job_search_censored) == (3.0, False)


def test_someone_still_seeking_work_is_censored_at_the_survey_time() -> None:
    outcome = derive_outcome(
        SIX_MONTHS, {"activity": "seeking_employment"}, SETTINGS, months_since_award=6
    )
    assert (outcome.months_to_first_job, outcome.job_search_censored) == (6, True)


def test_someone_who_kept_the_job_they_had_is_not_a_job_seeker() -> None:
    outcome = derive_outcome(SIX_MONTHS, job(40, 30_000, "annual"), SETTINGS)
    assert (outcome.months_to_first_job, outcome.job_search_censored) == (None, None)
    assert outcome.job_held_before_award is True


def test_all_canonical_answers_of_the_first_destination_survey_are_carried() -> None:
    answers = {
        **job(38, 2_400, "monthly"),
        "employer": "  Acme   Ltd ",
        "job_title": "Data analyst",
        "occupation": "2",
        "industry": "j",
        "related": 5,
        "voice_meaningful": 4,
        "voice_future": 3,
        "voice_skills": 5,
        "recommend": 10,
    }
    outcome = derive_outcome(SIX_MONTHS, answers, SETTINGS)
    assert outcome.outcome_values() == {
        "activity": "employed_full_time",
        "hours_per_week": 38.0,
        "salary_annual": 28_800.0,
        "salary_excluded": False,
        "occupation_isco": "2",
        "industry_isic": "J",
        "job_related": 5,
        "promoted": None,
        "satisfaction": 4,
        "nps": 10,
        "voice_meaningful": 4,
        "voice_future": 3,
        "voice_skills": 5,
        "months_to_first_job": None,
        "job_search_censored": None,
    }
    assert (outcome.employer, outcome.job_title) == ("Acme Ltd", "Data analyst")


def test_outcome_values_fit_the_outcome_table() -> None:
    outcome = derive_outcome(SIX_MONTHS, job(38, 2_400, "monthly"), SETTINGS)
    row = Outcome.model_validate(
        {
            "learner_id": 1,
            "enrolment_id": 1,
            "wave_id": 1,
            "source": "survey",
            "observed_on": "2026-06-01",
            **outcome.outcome_values(),
        }
    )
    assert row.activity == "employed_full_time"
    assert set(OUTCOME_COLUMNS) <= set(Outcome.model_fields)


def test_the_exit_survey_gives_the_baseline() -> None:
    answers = {
        "baseline_activity": "employed",
        "baseline_hours": 20,
        "baseline_pay": {"amount": 15, "currency": "EUR", "period": "hourly"},
        "satisfaction": 5,
        "recommend": 9,
        "contact_later": True,
    }
    outcome = derive_outcome(EXIT, answers, SETTINGS)
    assert outcome.baseline_activity == "employed_part_time"
    assert outcome.baseline_salary_annual == 15_600.0  # 15 × 20 × 52
    assert outcome.activity == "unknown"  # the exit survey does not ask the current activity
    assert (outcome.nps, outcome.follow_up_consent) == (9, True)


def test_derivation_ignores_answers_to_hidden_questions() -> None:
    answers = {**job(40, 30_000, "annual"), "activity": "continuing_education"}
    outcome = derive_outcome(SIX_MONTHS, answers, SETTINGS)
    assert outcome.salary_annual is None and outcome.hours_per_week is None
