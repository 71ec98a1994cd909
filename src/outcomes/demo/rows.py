"""Turn a chunk's arrays into row dictionaries for SQLAlchemy Core ``executemany``.

Columns are built as Python lists (numpy → ``tolist``) and zipped into dicts, which is
far cheaper than ORM objects. Timestamps are UTC-aware as ``models.UTCDateTime`` requires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from outcomes.demo.outcomes_model import MISSING, WaveOutcomes
from outcomes.vocab import ACTIVITIES, OUTCOME_MEASURES

FULL_TIME_HOURS = 30.0  # settings.fulltime_hours default; the demo's hours never straddle 30-35
# Demo activity → the instruments' answer code (employment is split by hours on the way back).
ANSWER_CODE = {a: ("employed" if a.startswith("employed_") else a) for a in ACTIVITIES}
BASELINE_CODE = {
    "employed_full_time": "employed",
    "employed_part_time": "employed",
    "self_employed": "self_employed",
    "unemployed": "seeking_employment",
    "student": "continuing_education",
    "not_in_labour_force": "not_seeking",
    "unknown": "not_seeking",
}
WORKING_CODES = ("employed", "self_employed", "internship", "military")
WORKING_ACTIVITIES = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "internship",
    "military",
)
# What each other source can tell (domain.md: the knowledge rate counts every source).
SOURCE_FIELDS = {
    "employer": (
        "hours_per_week",
        "salary_annual",
        "salary_excluded",
        "occupation_isco",
        "industry_isic",
    ),
    "staff_verified": ("occupation_isco", "industry_isic"),
    "public_profile": ("occupation_isco", "industry_isic"),
}
OUTCOME_FIELDS = OUTCOME_MEASURES[1:]  # every measure but the activity


def records(columns: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Column lists → a list of row dicts."""
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def dates(values: np.ndarray) -> list[dt.date | None]:
    """datetime64 → ``datetime.date`` (NaT → None)."""
    return values.astype("datetime64[D]").astype(object).tolist()


def timestamps(values: np.ndarray) -> list[dt.datetime | None]:
    """datetime64 → UTC-aware ``datetime`` (NaT → None)."""
    utc = dt.UTC
    return [
        None if v is None else v.replace(tzinfo=utc)
        for v in values.astype("datetime64[s]").astype(object).tolist()
    ]


def floats(values: np.ndarray) -> list[float | None]:
    """Floats with NaN → None."""
    return [None if v != v else v for v in values.astype(float).tolist()]


def ints(values: np.ndarray) -> list[int | None]:
    """Integers with ``MISSING`` → None."""
    return [None if v == MISSING else v for v in values.astype(np.int64).tolist()]


def flags(values: np.ndarray) -> list[bool | None]:
    """0/1 with ``MISSING`` → None, else bool."""
    return [None if v == MISSING else bool(v) for v in values.astype(np.int64).tolist()]


def _money(amount: float, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "period": "annual"}


def exit_answers(v: dict[str, Any], currency: str) -> dict[str, Any]:
    """Answers to the ``exit`` instrument (situation before the course, the course, plans)."""
    answers: dict[str, Any] = {"baseline_activity": v["baseline_code"]}
    if v["baseline_code"] in WORKING_CODES:
        answers["baseline_hours"] = v["baseline_hours"]
        if v["baseline_salary"] is not None:
            answers["baseline_pay"] = _money(v["baseline_salary"], currency)
    answers["reason"] = v["reason"]
    answers["satisfaction"] = v["satisfaction"]
    answers["teaching"] = v["teaching"]
    answers["relevance"] = v["relevance"]
    answers["workload"] = v["workload"]
    answers["recommend"] = v["nps"]
    answers["intention"] = v["intention"]
    answers["contact_later"] = v["contact_later"]
    return answers


def follow_up_answers(v: dict[str, Any], months: int, currency: str) -> dict[str, Any]:
    """Answers to ``follow-up-6m`` / ``follow-up-36m``, in question order."""
    code = ANSWER_CODE[v["activity"]]
    answers: dict[str, Any] = {"activity": code}
    if code in WORKING_CODES:
        answers["hours"] = int(v["hours_per_week"])
        answers["pay"] = _money(v["salary_annual"], currency)
        answers["occupation"] = v["occupation_isco"]
        answers["industry"] = v["industry_isic"]
        if months == 6:
            answers["had_job_before"] = v["job_held_before_award"]
            if not v["job_held_before_award"]:
                answers["months_to_job"] = int(v["months_to_first_job"])
        answers["related"] = v["job_related"]
        if months == 36:
            answers["skills_used"] = v["skills_used"]
            answers["promoted"] = v["promoted"]
    answers["voice_meaningful"] = v["voice_meaningful"]
    answers["voice_future"] = v["voice_future"]
    answers["voice_skills"] = v["voice_skills"]
    answers["satisfaction"] = v["satisfaction"]
    answers["recommend"] = v["nps"]
    if months == 36:
        answers["helped_career"] = v["helped_career"]
    return answers


def first_answers(answers: dict[str, Any], keep: int) -> dict[str, Any]:
    """The first ``keep`` answers in question order: what a respondent had saved so far."""
    return dict(list(answers.items())[:keep])


def survey_outcome(
    answers: dict[str, Any], *, months_since_award: float, salary_floor: float
) -> dict[str, Any]:
    """The outcome columns the answers support, by the rules of ``instruments.canonical``.

    Written out here because deriving through the instrument validator would cost tens of
    seconds at benchmark sizes; an integration test checks both agree on every response.
    """
    code = answers.get("activity")
    hours = answers.get("hours")
    if code == "employed":
        full = hours is not None and hours >= FULL_TIME_HOURS
        activity = "employed_full_time" if full else "employed_part_time"
    else:
        activity = code or "unknown"
    working = activity in WORKING_ACTIVITIES
    row: dict[str, Any] = dict.fromkeys(OUTCOME_FIELDS)
    row["activity"] = activity
    row["salary_excluded"] = False
    if working:
        row["hours_per_week"] = None if hours is None else float(hours)
        if "pay" in answers:
            amount = round(float(answers["pay"]["amount"]), 2)
            row["salary_annual"] = amount
            row["salary_excluded"] = amount < salary_floor
        row["occupation_isco"] = answers.get("occupation")
        row["industry_isic"] = answers.get("industry")
        row["job_related"] = answers.get("related")
        if answers.get("had_job_before") is not True and "months_to_job" in answers:
            row["months_to_first_job"] = float(answers["months_to_job"])
            row["job_search_censored"] = False
    elif activity == "seeking_employment":
        row["months_to_first_job"] = months_since_award
        row["job_search_censored"] = True
    row["promoted"] = answers.get("promoted")
    row["satisfaction"] = answers.get("satisfaction")
    row["nps"] = answers.get("recommend")
    for key in ("voice_meaningful", "voice_future", "voice_skills"):
        row[key] = answers.get(key)
    return row


def source_outcome(v: dict[str, Any], source: str) -> dict[str, Any]:
    """What a non-survey source (employer, staff, public profile) records."""
    row: dict[str, Any] = dict.fromkeys(OUTCOME_FIELDS)
    row["activity"] = v["activity"]
    row["salary_excluded"] = False
    if v["activity"] in WORKING_ACTIVITIES:
        for field in SOURCE_FIELDS[source]:
            row[field] = v[field]
        row["salary_excluded"] = bool(row["salary_excluded"])
    return row


def wave_values(
    wave: WaveOutcomes, extras: dict[str, np.ndarray], idx: np.ndarray
) -> list[dict[str, Any]]:
    """Per-learner values (realised outcome and survey extras) at positions ``idx``."""
    columns: dict[str, Sequence[Any]] = {
        "activity": [ACTIVITIES[a] for a in wave.activity[idx].tolist()],
        "hours_per_week": floats(wave.hours[idx]),
        "salary_annual": floats(wave.salary[idx]),
        "salary_excluded": wave.salary_excluded[idx].tolist(),
        "occupation_isco": wave.occupation[idx].tolist(),
        "industry_isic": wave.industry[idx].tolist(),
        "job_related": ints(wave.job_related[idx]),
        "promoted": flags(wave.promoted[idx]),
        "satisfaction": ints(wave.satisfaction[idx]),
        "nps": ints(wave.nps[idx]),
        "voice_meaningful": ints(wave.voice_meaningful[idx]),
        "voice_future": ints(wave.voice_future[idx]),
        "voice_skills": ints(wave.voice_skills[idx]),
        "months_to_first_job": floats(wave.months_to_first_job[idx]),
        "job_held_before_award": flags(wave.job_held_before_award[idx]),
        "skills_used": ints(wave.skills_used[idx]),
    }
    for name, values in extras.items():
        if values.dtype.kind == "f":
            columns[name] = floats(values[idx])
        elif values.dtype.kind == "b":
            columns[name] = values[idx].tolist()
        else:
            columns[name] = values[idx].tolist()
    return records(columns)
