"""Outcomes learned from other sources: staff record what an employer, a public profile or a
phone call told them (domain.md section 4, knowledge rate).

An other-source outcome is an ``outcome`` row like a survey's, with ``source`` in
``vocab.OTHER_OUTCOME_SOURCES``, the staff e-mail that recorded it, when, and a note. It is
written for the learner's invitation in the wave (its enrolment), so it belongs to the wave's
population: it counts as *known* (knowledge rate) but never as a response (response rate
counts complete survey responses only), and the analysis frame carries its ``source``.

Rules, and why:

- The graduate's own survey answer is never overwritten by another source (and a later
  survey submit replaces an other-source outcome: ``survey._derive``).
- Re-recording an other-source outcome replaces it only when asked (``replace=True``); the
  audit event keeps the source, activity and date before and after (never the salary).
- A salary is annualised and converted with the survey's own function
  (``instruments.canonical.annualise_salary``), so the floor applies the same way (kept, but
  excluded). Where a survey answer would silently lose the amount (no exchange rate, hourly
  pay without hours), staff are told instead: they can fix their input, a graduate cannot.
- Managers record only for graduates whose invitation's programme is in their scope.

``OtherOutcome`` is the strict input model; ``record_other_outcome`` writes one;
``outcomes.fieldwork.sources_csv`` imports many, all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col

from outcomes import audit
from outcomes.access import permissions
from outcomes.access.staff import NO_PROGRAMMES, user_by_email, viewer_scope
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.instruments import codes
from outcomes.instruments.canonical import WORKING_ACTIVITIES, annualise_salary
from outcomes.store.tables import (
    Credential,
    Enrolment,
    Invitation,
    Learner,
    LearnerExternalId,
    LearnerIdentity,
    Outcome,
    Programme,
    StaffUser,
    SurveyWave,
    table_of,
)
from outcomes.vocab import ACTIVITIES, OTHER_OUTCOME_SOURCES, OUTCOME_MEASURES, SALARY_PERIODS

RECORD_ACTION = "sources.record"
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


# --- who records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorder:
    """Who records: their role and account (for the scope), e-mail (``recorded_by``) and the
    audit actor name."""

    role: str
    user_id: int | None
    email: str
    actor: str


def staff_recorder(session: Session, email: str, *, actor: str | None = None) -> Recorder:
    """The recorder for the active staff account with ``email`` (the command line's ``--by``)."""
    user = user_by_email(session, email)
    return account_recorder(session, user.id, actor=actor)


def account_recorder(
    session: Session, user_id: int | None, *, actor: str | None = None
) -> Recorder:
    """The recorder for the signed-in staff account ``user_id`` (its role as stored)."""
    user = session.get(StaffUser, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise AccessDenied("Only an active staff account records outcomes.")
    assert user.id is not None
    return Recorder(user.role, user.id, user.email, actor or audit.staff_actor(user.id))


def command_line_recorder() -> Recorder:
    """The recorder for the command line without ``--by``: the operator, whole institution."""
    actor = audit.cli_actor()
    return Recorder("admin", None, actor, actor)


def recorder_scope(session: Session, recorder: Recorder) -> set[int] | None:
    """The programmes ``recorder`` may record for (None: all), or ``AccessDenied``."""
    if not permissions.can(recorder.role, RECORD_ACTION):
        raise AccessDenied(
            "Recording outcomes from other sources is for administrators and managers."
        )
    if recorder.user_id is None:  # the command line's operator
        return None
    scope = viewer_scope(session, recorder.role, recorder.user_id)
    if scope is not None and not scope:
        raise AccessDenied(NO_PROGRAMMES)
    return scope


# --- finding the graduate and the invitation ----------------------------------------------------


def find_learner(session: Session, key: str, by: LearnerKey = "any") -> Learner | Problem:
    """The learner with this ref, external id or e-mail (``by`` says which; "any": each)."""
    value = key.strip()
    ids: set[int] = set()
    if by in ("any", "ref"):
        found = session.execute(
            sa.select(col(Learner.id)).where(col(Learner.ref) == value)
        ).scalar_one_or_none()
        if found is not None:
            ids.add(found)
    if not ids and by in ("any", "external_id"):
        ids |= set(
            session.execute(
                sa.select(col(LearnerExternalId.learner_id)).where(
                    col(LearnerExternalId.value) == value
                )
            ).scalars()
        )
    if not ids and by in ("any", "email"):
        ids |= set(
            session.execute(
                sa.select(col(LearnerIdentity.learner_id)).where(
                    sa.func.lower(col(LearnerIdentity.email)) == value.lower()
                )
            ).scalars()
        )
    what = {
        "any": "learner ref, external id or e-mail address",
        "ref": "learner ref",
        "external_id": "external id",
        "email": "e-mail address",
    }[by]
    if not ids:
        return Problem("learner", f"No graduate has that {what}.", "not_found")
    if len(ids) > 1:
        return Problem(
            "learner",
            f"{len(ids)} graduates have that {what}: use the learner ref instead.",
        )
    learner = session.get(Learner, ids.pop())
    assert learner is not None
    if learner.erased_at is not None:
        return Problem("learner", "That graduate's record was erased.", "not_found")
    return learner


def find_wave(session: Session, ref: int | str) -> SurveyWave | Problem:
    """The wave with this id (or, for text, this exact name)."""
    if isinstance(ref, int):
        wave = session.get(SurveyWave, ref)
        described = f"with id {ref}"
    else:
        wave = session.execute(
            sa.select(SurveyWave).where(col(SurveyWave.name) == ref)
        ).scalar_one_or_none()
        described = f"named '{ref}'"
    if wave is None:
        return Problem("wave", f"There is no survey wave {described}.", "not_found")
    return wave


def awarded_on(session: Session, enrolment_id: int) -> dt.date | None:
    """When the enrolment's first credential was issued (a non-completer: when it ended)."""
    issued = session.execute(
        sa.select(sa.func.min(col(Credential.issued_on))).where(
            col(Credential.enrolment_id) == enrolment_id
        )
    ).scalar_one_or_none()
    if issued is not None:
        return issued  # type: ignore[no-any-return]
    enrolment = session.get(Enrolment, enrolment_id)
    return enrolment.ended_on if enrolment else None


@dataclass(frozen=True)
class Planned:
    """An outcome checked and ready to write."""

    learner: Learner
    wave: SurveyWave
    invitation: Invitation
    programme: str
    values: dict[str, Any]  # the outcome row's measures
    observed_on: dt.date
    salary_note: str | None  # why a salary is kept but excluded (the floor), if it is
    existing: Outcome | None  # an other-source outcome to replace


def plan_outcome(
    session: Session,
    settings: Settings,
    outcome: OtherOutcome,
    *,
    scope: set[int] | None,
    today: dt.date,
    replace: bool,
    lock: bool,
) -> Planned | list[Problem]:
    """Check one outcome against the records; what to write, or every problem found."""
    found = find_learner(session, outcome.learner, outcome.learner_by)
    wave = find_wave(session, outcome.wave)
    problems = [p for p in (found, wave) if isinstance(p, Problem)]
    if problems:
        return problems
    assert isinstance(found, Learner) and isinstance(wave, SurveyWave)
    statement = (
        sa.select(Invitation, col(Programme.id), col(Programme.code))
        .join(Enrolment, col(Enrolment.id) == col(Invitation.enrolment_id))
        .join(Programme, col(Programme.id) == col(Enrolment.programme_id))
        .where(col(Invitation.learner_id) == found.id, col(Invitation.wave_id) == wave.id)
    )
    if lock:  # serialised with a survey submit for the same invitation (survey.py locks it)
        statement = statement.with_for_update(of=table_of(Invitation))
    row = session.execute(statement).one_or_none()
    if row is None:
        return [
            Problem(
                "wave",
                f"That graduate has no invitation in the wave '{wave.name}': record outcomes "
                "only for a wave's population.",
                "not_found",
            )
        ]
    invitation, programme_id, programme_code = row
    if scope is not None and programme_id not in scope:
        return [Problem("learner", "That graduate's programme is not assigned to you.", "denied")]
    observed, problems = check_in_context(
        outcome, settings, awarded_on=awarded_on(session, invitation.enrolment_id), today=today
    )
    existing = session.execute(
        sa.select(Outcome).where(
            col(Outcome.learner_id) == found.id, col(Outcome.wave_id) == wave.id
        )
    ).scalar_one_or_none()
    if existing is not None and existing.source == "survey":
        problems.append(
            Problem(
                "",
                f"The graduate answered the survey of wave '{wave.name}' themselves; their own "
                "answer is never overwritten by another source.",
                "conflict",
            )
        )
    elif existing is not None and not replace:
        problems.append(
            Problem(
                "",
                f"An outcome from {existing.source} (observed {existing.observed_on}) is already "
                f"recorded for this graduate in wave '{wave.name}': replace it explicitly to "
                "change it.",
                "conflict",
            )
        )
    values, salary_note = _measures(outcome, settings)
    if problems:
        return problems
    return Planned(found, wave, invitation, programme_code, values, observed, salary_note, existing)


def _measures(outcome: OtherOutcome, settings: Settings) -> tuple[dict[str, Any], str | None]:
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


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedOutcome:
    """An other-source outcome as written."""

    outcome_id: int
    learner_ref: str
    wave_id: int
    wave: str
    programme: str
    source: str
    observed_on: dt.date
    activity: str
    salary_annual: float | None
    salary_excluded: bool
    salary_note: str | None
    replaced: str | None  # the source of the outcome this one replaced, if any

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (dates as ISO text)."""
        return {
            "outcome_id": self.outcome_id,
            "learner_ref": self.learner_ref,
            "wave_id": self.wave_id,
            "wave": self.wave,
            "programme": self.programme,
            "source": self.source,
            "observed_on": self.observed_on.isoformat(),
            "activity": self.activity,
            "salary_annual": self.salary_annual,
            "salary_excluded": self.salary_excluded,
            "salary_note": self.salary_note,
            "replaced": self.replaced,
        }


def write_planned(
    session: Session,
    planned: Planned,
    outcome: OtherOutcome,
    recorder: Recorder,
    *,
    at: dt.datetime,
    via: str,
) -> RecordedOutcome:
    """Write a checked outcome (insert, or replace an other-source one) and audit it."""
    row = planned.existing
    before = None
    assert planned.learner.id is not None and planned.wave.id is not None
    if row is None:
        row = Outcome(
            learner_id=planned.learner.id,
            enrolment_id=planned.invitation.enrolment_id,
            wave_id=planned.wave.id,
            source=outcome.source,
            observed_on=planned.observed_on,
            activity=outcome.activity,
        )
    else:
        before = {
            "source": row.source,
            "activity": row.activity,
            "observed_on": row.observed_on.isoformat(),
        }
    row.enrolment_id = planned.invitation.enrolment_id
    row.response_id = None
    row.source = outcome.source
    row.observed_on = planned.observed_on
    for name, value in planned.values.items():
        setattr(row, name, value)
    row.recorded_by = recorder.email[:320]
    row.recorded_at = at
    row.note = outcome.note
    session.add(row)
    session.flush()
    assert row.id is not None
    after = {
        "source": row.source,
        "activity": row.activity,
        "observed_on": row.observed_on.isoformat(),
    }
    detail: dict[str, Any] = {
        "learner_ref": planned.learner.ref,
        "wave_id": planned.wave.id,
        "source": row.source,
        "via": via,
    }
    if before is not None:
        detail.update(before=before, after=after)
    audit.record(
        session,
        actor=recorder.actor,
        action="outcome.replaced" if before is not None else "outcome.recorded",
        object_type="outcome",
        object_id=row.id,
        detail=detail,
    )
    return RecordedOutcome(
        outcome_id=row.id,
        learner_ref=planned.learner.ref,
        wave_id=planned.wave.id,
        wave=planned.wave.name,
        programme=planned.programme,
        source=row.source,
        observed_on=row.observed_on,
        activity=row.activity,
        salary_annual=row.salary_annual,
        salary_excluded=row.salary_excluded,
        salary_note=planned.salary_note,
        replaced=None if before is None else str(before["source"]),
    )


def refusal(problems: list[Problem]) -> Exception:
    """The error to raise for ``problems``: access, absence, or invalid input."""
    if any(p.kind == "denied" for p in problems):
        return AccessDenied(" ".join(p.message for p in problems if p.kind == "denied"))
    if any(p.kind == "not_found" for p in problems):
        return NotFound(" ".join(p.message for p in problems if p.kind == "not_found"))
    return OutcomeRefused(problems)


def record_other_outcome(
    session: Session,
    settings: Settings,
    outcome: OtherOutcome,
    *,
    recorder: Recorder,
    at: dt.datetime,
    replace: bool = False,
    via: str = "page",
) -> RecordedOutcome:
    """Record one outcome learned elsewhere for a graduate's invitation in a wave; audited."""
    scope = recorder_scope(session, recorder)
    planned = plan_outcome(
        session, settings, outcome, scope=scope, today=at.date(), replace=replace, lock=True
    )
    if isinstance(planned, list):
        raise refusal(planned)
    return write_planned(session, planned, outcome, recorder, at=at, via=via)


# --- reading --------------------------------------------------------------------------------------


def list_other_outcomes(
    session: Session,
    *,
    recorder: Recorder,
    wave: int | str | None = None,
    with_recorder: bool = False,
) -> pd.DataFrame:
    """Other-source outcomes in the recorder's scope, newest first (learner refs, no names or
    graduate e-mails; ``with_recorder`` adds the staff e-mail that recorded each)."""
    scope = recorder_scope(session, recorder)
    out, lrn, wav = table_of(Outcome), table_of(Learner), table_of(SurveyWave)
    enr, prog = table_of(Enrolment), table_of(Programme)
    columns = [
        out.c.id.label("outcome_id"),
        lrn.c.ref.label("learner_ref"),
        out.c.wave_id,
        wav.c.name.label("wave"),
        prog.c.code.label("programme"),
        out.c.source,
        out.c.observed_on,
        out.c.activity,
        out.c.hours_per_week,
        out.c.salary_annual,
        out.c.salary_excluded,
        out.c.occupation_isco,
        out.c.industry_isic,
        out.c.job_related,
        out.c.recorded_at,
        out.c.note,
    ]
    if with_recorder:
        columns.insert(-1, out.c.recorded_by)
    statement = (
        sa.select(*columns)
        .join(lrn, lrn.c.id == out.c.learner_id)
        .join(wav, wav.c.id == out.c.wave_id)
        .join(enr, enr.c.id == out.c.enrolment_id)
        .join(prog, prog.c.id == enr.c.programme_id)
        .where(out.c.source.in_(OTHER_OUTCOME_SOURCES))
        .order_by(out.c.recorded_at.desc(), out.c.id.desc())
    )
    if scope is not None:
        statement = statement.where(prog.c.id.in_(sorted(scope)))
    if wave is not None:
        found = find_wave(session, int(wave) if str(wave).isdigit() else wave)
        if isinstance(found, Problem):
            raise NotFound(found.message)
        statement = statement.where(out.c.wave_id == found.id)
    rows = session.execute(statement).all()
    names = [c.name for c in columns]
    return pd.DataFrame([tuple(r) for r in rows], columns=names)


@dataclass(frozen=True)
class WaveChoice:
    """A wave a found graduate is invited to, and what is already known there."""

    wave_id: int
    wave: str
    programme: str
    outcome_source: str | None  # the source of the outcome already recorded, if any


@dataclass(frozen=True)
class Graduate:
    """A graduate found for recording: their pseudonymous ref and their waves in scope."""

    learner_ref: str
    waves: tuple[WaveChoice, ...]


def find_graduate(
    session: Session, key: str, *, recorder: Recorder, by: LearnerKey = "any"
) -> Graduate:
    """The graduate with this ref, external id or e-mail, with their waves in scope."""
    scope = recorder_scope(session, recorder)
    found = find_learner(session, key, by)
    if isinstance(found, Problem):
        raise refusal([found])
    inv, enr, prog = table_of(Invitation), table_of(Enrolment), table_of(Programme)
    wav, out = table_of(SurveyWave), table_of(Outcome)
    statement = (
        sa.select(wav.c.id, wav.c.name, prog.c.id, prog.c.code, out.c.source)
        .select_from(inv)
        .join(wav, wav.c.id == inv.c.wave_id)
        .join(enr, enr.c.id == inv.c.enrolment_id)
        .join(prog, prog.c.id == enr.c.programme_id)
        .outerjoin(
            out, sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id)
        )
        .where(inv.c.learner_id == found.id)
        .order_by(wav.c.opens_on.desc(), wav.c.id.desc())
    )
    rows = session.execute(statement).all()
    waves = tuple(
        WaveChoice(wave_id, name, code, source)
        for wave_id, name, programme_id, code, source in rows
        if scope is None or programme_id in scope
    )
    if rows and not waves:
        raise AccessDenied("That graduate's programme is not assigned to you.")
    if not waves:
        raise NotFound("That graduate has no invitation in any wave yet.")
    return Graduate(found.ref, waves)
