"""The rules of an outcome learned from another source, as pure functions: the strict input
model (``OtherOutcome``), its sentences, the checks that need the award date, today and the
settings, and the outcome row's measures. No database: ``fieldwork.sources`` looks the
graduate up and writes; this module decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from outcomes.config import Settings
from outcomes.errors import ValidationProblem
from outcomes.instruments import codes
from outcomes.instruments.canonical import WORKING_ACTIVITIES, annualise_salary
from outcomes.vocab import ACTIVITIES, OTHER_OUTCOME_SOURCES, OUTCOME_MEASURES, SALARY_PERIODS

LearnerKey = Literal["any", "ref", "external_id", "email"]

# How each field is named in a sentence.
LABELS: dict[str, str] = {
    "learner": "The graduate",
    "learner_by": "The kind of identifier",
    "wave": "The wave",
    "source": "The source",
    "observed_on": "The date observed",
    "activity": "The activity",
    "hours_per_week": "Hours per week",
    "salary": "The salary",
    "currency": "The currency",
    "period": "The pay period",
    "occupation_isco": "The occupation",
    "industry_isic": "The industry",
    "job_related": "Job relatedness",
    "note": "The note",
}
_KINDS = {
    "wave": "a wave id or name",
    "observed_on": "a date (YYYY-MM-DD)",
    "hours_per_week": "a number",
    "salary": "a number",
    "job_related": "a whole number from 1 to 5",
}
NOTE_MAX = 2000
# Fields that describe work: refused with any other activity (the survey drops them).
WORK_FIELDS = ("hours_per_week", "salary", "occupation_isco", "industry_isic", "job_related")


class OtherOutcome(BaseModel):
    """One outcome learned elsewhere, as staff give it (strict: unknown fields are errors)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    learner: str = Field(min_length=1, max_length=500)
    learner_by: LearnerKey = "any"
    wave: int | str
    source: str
    observed_on: dt.date | None = None  # None: the day it is recorded
    activity: str
    hours_per_week: float | None = None
    salary: float | None = None
    currency: str | None = None
    period: str | None = None
    occupation_isco: str | None = None
    industry_isic: str | None = None
    job_related: int | None = None
    note: str | None = None

    @field_validator("learner")
    @classmethod
    def _learner(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Give the graduate's learner ref, external id or e-mail address.")
        return value.strip()

    @field_validator("wave")
    @classmethod
    def _wave(cls, value: int | str) -> int | str:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("Give the wave (its id or its name).")
            return int(text) if text.isdigit() else text
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in OTHER_OUTCOME_SOURCES:
            raise ValueError(
                f"The source '{value}' is not one of {', '.join(OTHER_OUTCOME_SOURCES)} "
                "(survey outcomes come only from the survey)."
            )
        return value

    @field_validator("activity")
    @classmethod
    def _activity(cls, value: str) -> str:
        if value == "unknown":
            raise ValueError("The activity 'unknown' records nothing: give what was learned.")
        if value not in ACTIVITIES:
            known = ", ".join(a for a in ACTIVITIES if a != "unknown")
            raise ValueError(f"The activity '{value}' is not one of {known}.")
        return value

    @field_validator("hours_per_week")
    @classmethod
    def _hours(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 168:
            raise ValueError(f"Hours per week must be more than 0 and at most 168, not {value:g}.")
        return value

    @field_validator("salary")
    @classmethod
    def _salary(cls, value: float | None) -> float | None:
        if value is not None and not (value > 0 and value < 1e12):
            raise ValueError(f"The salary must be a positive amount, not {value:g}.")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise ValueError(f"The currency '{value}' is not a three-letter ISO 4217 code.")
        return code

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        period = value.strip().lower()
        if period not in SALARY_PERIODS:
            raise ValueError(f"The pay period '{value}' is not one of {', '.join(SALARY_PERIODS)}.")
        return period

    @field_validator("occupation_isco")
    @classmethod
    def _occupation(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if value.strip() not in codes.occupations():
            raise ValueError(
                f"The occupation '{value}' is not an ISCO-08 major group (a digit 0 to 9)."
            )
        return value.strip()

    @field_validator("industry_isic")
    @classmethod
    def _industry(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        section = value.strip().upper()
        if section not in codes.industries():
            raise ValueError(
                f"The industry '{value}' is not an ISIC Rev.4 section (a letter A to U)."
            )
        return section

    @field_validator("job_related")
    @classmethod
    def _related(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 5:
            raise ValueError(f"Job relatedness must be a whole number from 1 to 5, not {value}.")
        return value

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value) > NOTE_MAX:
            raise ValueError(f"The note is {len(value):,} characters long; at most {NOTE_MAX:,}.")
        return value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of an outcome, in one sentence."""

    field: str  # a field of ``OtherOutcome`` ("" for the outcome as a whole)
    message: str
    kind: Literal["invalid", "not_found", "denied", "conflict"] = "invalid"


class OutcomeRefused(ValidationProblem):
    """An outcome that cannot be recorded: one sentence per problem, all in the message."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(p.message for p in self.problems))


def problems_from(error: ValidationError) -> list[Problem]:
    """Pydantic's errors on ``OtherOutcome`` as one plain sentence per field."""
    problems: dict[str, Problem] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if name in problems:
            continue  # a union reports each branch; one sentence per field is enough
        label = LABELS.get(name, name)
        kind = item["type"]
        if kind == "value_error":
            message = str(item["ctx"]["error"])
        elif kind == "missing":
            message = f"{label} is required."
        elif kind == "extra_forbidden":
            message = f"'{name}' is not a field of an outcome."
        elif kind == "string_too_short":
            message = f"{label} is empty."
        elif kind == "string_too_long":
            message = f"{label} is longer than {item['ctx']['max_length']} characters."
        elif kind == "literal_error":
            message = f"{label} must be one of {item['ctx']['expected']}."
        else:
            message = f"{label} must be {_KINDS.get(name, 'text')}."
        problems[name] = Problem(name, message)
    return list(problems.values())


def parse_outcome(values: dict[str, Any]) -> OtherOutcome:
    """``OtherOutcome`` from plain values, or ``OutcomeRefused`` with one sentence per field."""
    try:
        return OtherOutcome.model_validate(values)
    except ValidationError as exc:
        raise OutcomeRefused(problems_from(exc)) from None


def check_in_context(
    outcome: OtherOutcome, settings: Settings, *, awarded_on: dt.date | None, today: dt.date
) -> tuple[dt.date, list[Problem]]:
    """The date observed, and what is wrong with the outcome given the award, today and the
    settings (pure)."""
    problems: list[Problem] = []
    observed = outcome.observed_on or today
    if observed > today:
        problems.append(Problem("observed_on", f"The date observed, {observed}, is in the future."))
    if awarded_on is not None and observed < awarded_on:
        problems.append(
            Problem(
                "observed_on",
                f"The date observed, {observed}, is before the award on {awarded_on}.",
            )
        )
    working = outcome.activity in WORKING_ACTIVITIES
    if not working:
        for name in WORK_FIELDS:
            if getattr(outcome, name) is not None:
                problems.append(
                    Problem(
                        name, f"{LABELS[name]} applies only to work, not to {outcome.activity}."
                    )
                )
    if outcome.salary is None:
        for name in ("currency", "period"):
            if getattr(outcome, name) is not None:
                problems.append(Problem(name, f"{LABELS[name]} is given without a salary."))
    elif working:
        for name, what in (("currency", "a currency"), ("period", "a pay period")):
            if getattr(outcome, name) is None:
                problems.append(Problem(name, f"A salary needs {what} too."))
        if outcome.currency and settings.rate_to_base(outcome.currency) is None:
            problems.append(
                Problem(
                    "currency",
                    f"There is no exchange rate from {outcome.currency} to "
                    f"{settings.base_currency}: set OUTCOMES_EXCHANGE_RATES, or give the salary "
                    f"in {settings.base_currency}.",
                )
            )
        if outcome.period == "hourly" and outcome.hours_per_week is None:
            problems.append(
                Problem("hours_per_week", "An hourly salary needs the hours per week too.")
            )
    hours = outcome.hours_per_week
    threshold = settings.fulltime_hours
    if hours is not None and outcome.activity == "employed_full_time" and hours < threshold:
        problems.append(
            Problem(
                "hours_per_week",
                f"{hours:g} hours per week is below the full-time threshold of {threshold:g}: "
                "choose employed_part_time, or correct the hours.",
            )
        )
    if hours is not None and outcome.activity == "employed_part_time" and hours >= threshold:
        problems.append(
            Problem(
                "hours_per_week",
                f"{hours:g} hours per week reaches the full-time threshold of {threshold:g}: "
                "choose employed_full_time, or correct the hours.",
            )
        )
    return observed, problems


def outcome_measures(
    outcome: OtherOutcome, settings: Settings
) -> tuple[dict[str, Any], str | None]:
    """The outcome row's measures, and why a salary is kept but excluded (the floor), if so."""
    values: dict[str, Any] = dict.fromkeys(OUTCOME_MEASURES)
    values.update(
        activity=outcome.activity,
        hours_per_week=outcome.hours_per_week,
        salary_excluded=False,
        occupation_isco=outcome.occupation_isco,
        industry_isic=outcome.industry_isic,
        job_related=outcome.job_related,
    )
    note = None
    if outcome.salary is not None and outcome.currency and outcome.period:
        money = {"amount": outcome.salary, "currency": outcome.currency, "period": outcome.period}
        annual, excluded, note = annualise_salary(money, outcome.hours_per_week, settings)
        values.update(salary_annual=annual, salary_excluded=excluded)
    return values, note
