"""The demo institution as data: strict models of ``seed/institution.yaml``.

Everything the generator simulates — programmes, cohort sizes and the planted truths
(selection into completion, effects, non-response) — is read from that file through these
models (``extra="forbid"``), so a typo in a key is an error naming the key, not a silent
default.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from outcomes.errors import ValidationProblem
from outcomes.store.tables import ProgrammeBase
from outcomes.vocab import (
    ACTIVITIES,
    ASSESSMENT_TYPES,
    BASELINE_EMPLOYMENT,
    GENDERS,
    PARTICIPATION_FORMS,
    PRIOR_EDUCATION,
    QUALITY_ASSURANCE_TYPES,
)

# src/outcomes/demo/spec.py → the repository root holds seed/.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[3] / "seed" / "institution.yaml"
WAVE_MONTHS = (0, 6, 36)
INSTRUMENT_KEYS = {0: "exit", 6: "follow-up-6m", 36: "follow-up-36m"}

Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]


class DemoSpecError(ValidationProblem):
    """The demo institution file is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _require_keys(name: str, given: dict[Any, Any], allowed: tuple[Any, ...], full: bool) -> None:
    unknown = [key for key in given if key not in allowed]
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}: use {list(allowed)}")
    missing = [key for key in allowed if key not in given]
    if full and missing:
        raise ValueError(f"{name} lacks keys {missing}")


def _require_shares(name: str, shares: dict[Any, float]) -> None:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"{name} shares must add up to 1 (they add up to {total:.4f})")


class PrivacyNotice(_Strict):
    version: str = Field(min_length=1, max_length=40)
    from_: dt.date = Field(alias="from")


class Institution(_Strict):
    name: str
    name_en: str
    awarding_body: str
    country: str = Field(pattern=r"^(ES|IE)$")
    currency: str = Field(pattern=r"^EUR$")
    today: dt.date
    spanish_share: Share
    email_domains: list[str] = Field(min_length=1)
    staff_email_domain: str
    student_record_scheme: str = Field(min_length=1, max_length=60)
    privacy_notices: list[PrivacyNotice] = Field(min_length=1)


class Effect(_Strict):
    employment_logit: float = Field(ge=-3, le=3)
    log_salary: float = Field(ge=-1, le=1)


class Redesign(_Strict):
    effective_from: dt.date
    note: str
    effect: Effect
    satisfaction_mean: float = Field(ge=1, le=5)


class ProgrammeSpec(_Strict):
    """A programme: the EU elements (as in ``ProgrammeBase``) plus what the demo simulates."""

    code: str
    title: str
    title_es: str
    learning_outcomes: str
    ects: float
    eqf_level: int | None
    assessment_type: str
    assessment_description: str
    participation_form: str
    quality_assurance_type: str
    quality_assurance: str
    prerequisites: str | None
    stackability: str | None
    field_of_study: str
    industry_partners: list[str]
    launched_on: dt.date
    weight: Positive
    duration_weeks: int = Field(ge=2, le=40)
    completion_shift: float = Field(ge=-3, le=3)
    salary_premium: float = Field(ge=-0.5, le=0.5)
    satisfaction_mean: float = Field(ge=1, le=5)
    occupations: dict[str, Share]
    industries: dict[str, Share]
    effect: Effect
    redesign: Redesign | None = None

    @model_validator(mode="after")
    def _check(self) -> ProgrammeSpec:
        # The EU elements must be acceptable to the data model itself.
        ProgrammeBase.model_validate(self.programme_fields(awarding_body="x", country="ES"))
        if self.participation_form not in PARTICIPATION_FORMS:
            raise ValueError("participation_form must be online, onsite or blended")
        if self.assessment_type not in ASSESSMENT_TYPES:
            raise ValueError(f"assessment_type must be one of {', '.join(ASSESSMENT_TYPES)}")
        if self.quality_assurance_type not in QUALITY_ASSURANCE_TYPES:
            raise ValueError(
                f"quality_assurance_type must be one of {', '.join(QUALITY_ASSURANCE_TYPES)}"
            )
        _require_keys("occupations", self.occupations, tuple("0123456789"), full=False)
        _require_keys("industries", self.industries, tuple("ABCDEFGHIJKLMNOPQRSTU"), full=False)
        _require_shares("occupations", self.occupations)
        _require_shares("industries", self.industries)
        if self.redesign is not None and self.redesign.effective_from <= self.launched_on:
            raise ValueError("redesign.effective_from must come after launched_on")
        return self

    def programme_fields(self, *, awarding_body: str, country: str) -> dict[str, Any]:
        """The columns of the ``programme`` row."""
        return {
            "code": self.code,
            "title": self.title,
            "title_es": self.title_es,
            "awarding_body": awarding_body,
            "issuer_country": country,
            "learning_outcomes": self.learning_outcomes,
            "ects": self.ects,
            "eqf_level": self.eqf_level,
            "assessment_type": self.assessment_type,
            "assessment_description": self.assessment_description,
            "participation_form": self.participation_form,
            "quality_assurance_type": self.quality_assurance_type,
            "quality_assurance": self.quality_assurance,
            "prerequisites": self.prerequisites,
            "stackability": self.stackability,
            "field_of_study": self.field_of_study,
            "industry_partners": list(self.industry_partners),
            "launched_on": self.launched_on,
            # The date the redesign took effect: what issue 15's before/after reads.
            "redesigned_on": None if self.redesign is None else self.redesign.effective_from,
            "status": "active",
        }


class AgeSpec(_Strict):
    minimum: int = Field(ge=16, le=80)
    maximum: int = Field(ge=16, le=90)
    offset: float
    gamma_shape: Positive
    gamma_scale: Positive


class BaselineSalary(_Strict):
    log_mean: float
    log_sd: Positive
    part_time_factor: Share
    per_decade_of_age: float
    prior_education: dict[str, float]

    @model_validator(mode="after")
    def _check(self) -> BaselineSalary:
        _require_keys("prior_education", self.prior_education, PRIOR_EDUCATION, full=True)
        return self


class Population(_Strict):
    age: AgeSpec
    gender: dict[str, Share]
    prior_education: dict[str, Share]
    baseline_employment: dict[str, Share]
    baseline_salary: BaselineSalary

    @model_validator(mode="after")
    def _check(self) -> Population:
        for name, allowed, shares in (
            ("gender", GENDERS, self.gender),
            ("prior_education", PRIOR_EDUCATION, self.prior_education),
            ("baseline_employment", BASELINE_EMPLOYMENT, self.baseline_employment),
        ):
            _require_keys(name, shares, allowed, full=True)
            _require_shares(name, shares)
        return self


class _CovariateEffects(_Strict):
    per_decade_of_age: float
    prior_education: dict[str, float]
    baseline_employment: dict[str, float]

    @model_validator(mode="after")
    def _check_covariates(self) -> _CovariateEffects:
        _require_keys("prior_education", self.prior_education, PRIOR_EDUCATION, full=True)
        _require_keys(
            "baseline_employment", self.baseline_employment, BASELINE_EMPLOYMENT, full=True
        )
        return self


def _by_months(name: str, values: dict[int, float]) -> None:
    _require_keys(name, values, WAVE_MONTHS, full=True)


class Completion(_CovariateEffects):
    intercept: float


class Employment(_CovariateEffects):
    intercept_by_months: dict[int, float]
    effect_by_months: dict[int, float]
    trend_per_year: float
    person_sd: float = Field(ge=0)
    other_activities: dict[str, Share]

    @model_validator(mode="after")
    def _check(self) -> Employment:
        _by_months("intercept_by_months", self.intercept_by_months)
        _by_months("effect_by_months", self.effect_by_months)
        allowed = tuple(a for a in ACTIVITIES if a not in ("employed_full_time", "unknown"))
        _require_keys("other_activities", self.other_activities, allowed, full=True)
        _require_shares("other_activities", self.other_activities)
        return self


class Range(_Strict):
    minimum: float = Field(ge=0)
    maximum: float = Field(ge=0)

    @model_validator(mode="after")
    def _check(self) -> Range:
        if self.maximum < self.minimum:
            raise ValueError("maximum must not be below minimum")
        return self


class Salary(_Strict):
    log_intercept: float
    log_sd_person: float = Field(ge=0)
    log_sd_wave: float = Field(ge=0)
    per_decade_of_age: float
    trend_per_year: float
    growth_by_months: dict[int, float]
    prior_education: dict[str, float]
    effect_sd: float = Field(ge=0)
    floor: float = Field(ge=0)
    full_time_hours: Range
    part_time_hours: Range
    internship_salary: Range

    @model_validator(mode="after")
    def _check(self) -> Salary:
        _by_months("growth_by_months", self.growth_by_months)
        _require_keys("prior_education", self.prior_education, PRIOR_EDUCATION, full=True)
        return self


class ResponseModel(_Strict):
    intercept_by_months: dict[int, float]
    employed: float
    completer: float
    per_decade_of_age: float
    partial_share: Share
    revised_share: Share
    opt_out_share: Share
    opened_not_answered_share: Share
    mean_days_to_answer: Positive
    last_answer_day: int = Field(ge=1, le=365)
    reminder_days: list[int] = Field(max_length=5)
    invitation_valid_days: int = Field(ge=1, le=365)

    @model_validator(mode="after")
    def _check(self) -> ResponseModel:
        _by_months("intercept_by_months", self.intercept_by_months)
        if self.last_answer_day > self.invitation_valid_days:
            raise ValueError("last_answer_day must not exceed invitation_valid_days")
        return self


class OtherSources(_Strict):
    employer: Share
    staff_verified: Share
    public_profile_employed: Share
    public_profile_not_employed: Share


class Satisfaction(_Strict):
    completer_shift: float
    non_completer_shift: float
    employed_shift: float
    sd: Positive
    nps_sd: Positive


class Voice(_Strict):
    meaningful: float = Field(ge=1, le=5)
    future: float = Field(ge=1, le=5)
    skills: float = Field(ge=1, le=5)
    sd: Positive
    job_related_mean: float = Field(ge=1, le=5)
    job_related_treated_shift: float
    not_employed_shift: float


class Promotion(_Strict):
    base: Share
    treated_shift: float


class TimeToFirstJob(_Strict):
    beta_a: Positive
    beta_b: Positive
    treated_b_shift: float = Field(ge=0)


class Planted(_Strict):
    completion: Completion
    employment: Employment
    salary: Salary
    response: ResponseModel
    other_sources: OtherSources
    satisfaction: Satisfaction
    voice: Voice
    promotion_36m: Promotion
    time_to_first_job: TimeToFirstJob


class InstitutionSpec(_Strict):
    """The whole file."""

    institution: Institution
    cohorts: dict[int, Positive] = Field(min_length=1)
    programmes: list[ProgrammeSpec] = Field(min_length=1)
    population: Population
    planted: Planted

    @model_validator(mode="after")
    def _check(self) -> InstitutionSpec:
        codes = [p.code for p in self.programmes]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"programme codes must be unique; repeated: {duplicates}")
        years = sorted(self.cohorts)
        if years[-1] > self.institution.today.year:
            raise ValueError("cohorts must not lie after the institution's 'today'")
        for programme in self.programmes:
            if programme.launched_on.year > years[-1]:
                raise ValueError(f"programme {programme.code} launches after the last cohort")
        return self

    @property
    def award_years(self) -> list[int]:
        """Cohort years in order."""
        return sorted(self.cohorts)


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    """``programmes.3.ects`` → ``programmes[MC-PM].ects`` where the code is known."""
    text = ""
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            code = node.get("code") if isinstance(node, dict) else None
            text += f"[{code or item}]"
            continue
        text += f".{item}" if text else str(item)
        node = node.get(item) if isinstance(node, dict) else None
    return text


def parse_institution(data: Any, *, source: str = "institution.yaml") -> InstitutionSpec:
    """Validate already-parsed YAML data; errors name the source and the field."""
    try:
        return InstitutionSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(tuple(first["loc"]), data) or "(top level)"
        reason = first["msg"].removeprefix("Value error, ")
        given = first.get("input")
        shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
        raise DemoSpecError(f"{source}: {where}: {reason}{shown}.") from None


def load_institution(path: Path | None = None) -> InstitutionSpec:
    """Read and validate the demo institution (default: ``seed/institution.yaml``)."""
    file = path or DEFAULT_SPEC_PATH
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DemoSpecError(f"The demo institution file {file} does not exist.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise DemoSpecError(f"{file}{line}: not valid YAML ({exc}).") from None
    return parse_institution(data, source=str(file))
