"""Answers → the canonical outcome of one graduate in one wave (domain.md section 4).

``derive_outcome`` is pure: the instrument says which question feeds which field
(``canonical:``), the settings give the full-time threshold, currency rates and salary floor.

Rules, and why:

- Primary activity: the activity question's code. ``employed`` (and the two explicit
  employed codes) is split by usual hours: hours >= ``settings.fulltime_hours`` is full-time.
  Employed with unknown hours is classed part-time, so that neither the full-time rate nor the
  full-time median salary is inflated by a guess. No answer → ``unknown``.
- Salary: hourly × hours × 52, weekly × 52, monthly × 12, annual as is; converted with
  ``settings.rate_to_base``. No rate (or hourly pay without hours) → no amount, excluded, with
  the reason. An annual amount below ``settings.salary_floor`` is kept but excluded (HESA's
  minimum-wage floor); the top cap is a cohort quantile, applied by the analysis layer.
- Time to first job: months given by those in work who did not already hold the job at award;
  someone still seeking employment is censored (at ``months_since_award`` when known), for
  Kaplan–Meier. Those who kept their pre-award job are not in the job-search population.
- Career outcomes rate (NACE): "not seeking" and unknown are excluded from the denominator —
  see ``in_career_outcomes_denominator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from outcomes.config import Settings
from outcomes.instruments.answers import validate_answers
from outcomes.instruments.schema import Instrument
from outcomes.vocab import CAREER_POSITIVE, OUTCOME_MEASURES

EMPLOYED_CODES = frozenset({"employed", "employed_full_time", "employed_part_time"})
# Activities in which a person does paid (or paid-like) work with hours and pay.
WORKING_ACTIVITIES = frozenset(
    {"employed_full_time", "employed_part_time", "self_employed", "internship", "military"}
)
# NACE career outcomes: the numerator; the denominator adds those still seeking.
CAREER_OUTCOME_ACTIVITIES = frozenset(CAREER_POSITIVE)
SEEKING_ACTIVITIES = frozenset({"seeking_employment", "seeking_study"})
WEEKS_PER_YEAR = 52
# Outcome columns (models.Outcome) that CanonicalOutcome fills, in table order.
OUTCOME_COLUMNS = OUTCOME_MEASURES


@dataclass(frozen=True)
class CanonicalOutcome:
    """The outcome derived from one response; field names follow the ``outcome`` table."""

    activity: str = "unknown"
    hours_per_week: float | None = None
    salary_annual: float | None = None
    salary_excluded: bool = False
    salary_exclusion_reason: str | None = None
    occupation_isco: str | None = None
    industry_isic: str | None = None
    job_related: int | None = None
    promoted: bool | None = None
    satisfaction: int | None = None
    nps: int | None = None
    voice_meaningful: int | None = None
    voice_future: int | None = None
    voice_skills: int | None = None
    months_to_first_job: float | None = None
    job_search_censored: bool | None = None
    skills_used: int | None = None
    job_held_before_award: bool | None = None
    work_country: str | None = None
    intention: str | None = None
    follow_up_consent: bool | None = None
    baseline_activity: str | None = None
    baseline_hours_per_week: float | None = None
    baseline_salary_annual: float | None = None
    baseline_salary_excluded: bool = False
    # Identifying free text: kept apart, never part of the analysis row.
    employer: str | None = None
    job_title: str | None = None
    notes: tuple[str, ...] = ()

    def outcome_values(self) -> dict[str, Any]:
        """The values for an ``Outcome`` row (its analysis columns only)."""
        values = asdict(self)
        return {column: values[column] for column in OUTCOME_COLUMNS}

    @property
    def in_career_outcomes_denominator(self) -> bool:
        """Whether this outcome counts in the NACE career outcomes denominator."""
        return in_career_outcomes_denominator(self.activity)


def in_career_outcomes_denominator(activity: str) -> bool:
    """True unless the activity is "not seeking" or unknown (NACE; domain.md section 4)."""
    return activity in CAREER_OUTCOME_ACTIVITIES or activity in SEEKING_ACTIVITIES


def is_career_outcome(activity: str) -> bool:
    """True for the NACE career-outcomes numerator (work, service, military, study)."""
    return activity in CAREER_OUTCOME_ACTIVITIES


def classify_activity(code: str | None, hours: float | None, settings: Settings) -> str:
    """The primary activity for an answer code, splitting employment by the hours threshold."""
    if code is None:
        return "unknown"
    if code in EMPLOYED_CODES:
        if hours is not None:
            full = hours >= settings.fulltime_hours
            return "employed_full_time" if full else "employed_part_time"
        return "employed_full_time" if code == "employed_full_time" else "employed_part_time"
    return code


def annualise_salary(
    money: Mapping[str, Any], hours: float | None, settings: Settings
) -> tuple[float | None, bool, str | None]:
    """(annual amount in base currency, excluded, reason) for a money answer."""
    amount = float(money["amount"])
    period = money["period"]
    currency = str(money["currency"])
    if period == "hourly":
        if hours is None:
            return None, True, "hourly pay without hours per week"
        annual = amount * hours * WEEKS_PER_YEAR
    elif period == "weekly":
        annual = amount * WEEKS_PER_YEAR
    elif period == "monthly":
        annual = amount * 12
    else:
        annual = amount
    rate = settings.rate_to_base(currency)
    if rate is None:
        return None, True, f"no exchange rate from {currency} to {settings.base_currency}"
    converted = round(annual * rate, 2)
    if converted < settings.salary_floor:
        floor = f"{settings.salary_floor:,.0f} {settings.base_currency}"
        return converted, True, f"below the salary floor of {floor}"
    return converted, False, None


def derive_outcome(
    instrument: Instrument,
    answers: Mapping[str, Any],
    settings: Settings,
    *,
    months_since_award: float | None = None,
) -> CanonicalOutcome:
    """Derive the canonical outcome from one answer set (hidden and invalid answers ignored)."""
    cleaned = validate_answers(instrument, answers).cleaned
    values: dict[str, Any] = {}
    for question in instrument.questions():
        if question.canonical and question.id in cleaned:
            values[question.canonical] = cleaned[question.id]
    notes: list[str] = []

    hours = _float(values.get("hours_per_week"))
    activity = classify_activity(values.get("activity"), hours, settings)
    if values.get("activity") == "employed" and hours is None:
        notes.append("employed with unknown hours: classed part-time")
    working = activity in WORKING_ACTIVITIES

    salary, excluded, reason = None, False, None
    if working and "salary" in values:
        salary, excluded, reason = annualise_salary(values["salary"], hours, settings)
        if reason:
            notes.append(f"salary excluded: {reason}")

    months, censored = _job_search(values, activity, working, months_since_award)

    baseline_hours = _float(values.get("baseline_hours_per_week"))
    baseline = values.get("baseline_activity")
    baseline_activity = classify_activity(baseline, baseline_hours, settings) if baseline else None
    base_salary, base_excluded = None, False
    if baseline_activity in WORKING_ACTIVITIES and "baseline_salary" in values:
        base_salary, base_excluded, base_reason = annualise_salary(
            values["baseline_salary"], baseline_hours, settings
        )
        if base_reason:
            notes.append(f"baseline salary excluded: {base_reason}")

    return CanonicalOutcome(
        activity=activity,
        hours_per_week=hours if working else None,
        salary_annual=salary,
        salary_excluded=excluded,
        salary_exclusion_reason=reason,
        occupation_isco=values.get("occupation_isco") if working else None,
        industry_isic=values.get("industry_isic") if working else None,
        job_related=values.get("job_related") if working else None,
        promoted=values.get("promoted"),
        satisfaction=values.get("satisfaction"),
        nps=values.get("nps"),
        voice_meaningful=values.get("voice_meaningful"),
        voice_future=values.get("voice_future"),
        voice_skills=values.get("voice_skills"),
        months_to_first_job=months,
        job_search_censored=censored,
        skills_used=values.get("skills_used"),
        job_held_before_award=values.get("job_held_before_award") if working else None,
        work_country=values.get("work_country"),
        intention=values.get("intention"),
        follow_up_consent=values.get("follow_up_consent"),
        baseline_activity=baseline_activity,
        baseline_hours_per_week=baseline_hours,
        baseline_salary_annual=base_salary,
        baseline_salary_excluded=base_excluded,
        employer=values.get("employer") if working else None,
        job_title=values.get("job_title") if working else None,
        notes=tuple(notes),
    )


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _job_search(
    values: Mapping[str, Any], activity: str, working: bool, months_since_award: float | None
) -> tuple[float | None, bool | None]:
    if working:
        if values.get("job_held_before_award") is True:
            return None, None
        months = _float(values.get("months_to_first_job"))
        return (months, False) if months is not None else (None, None)
    if activity == "seeking_employment":
        return months_since_award, True
    return None, None
