"""The planted truth: who completes, and both potential outcomes of everyone at each wave.

Selection into completion is on observables only (prior education, baseline employment,
age), and the same covariates raise employment: the naive holders-vs-non-completers
difference is therefore biased upward. Both potential outcomes are simulated for every
learner, with a common uniform draw (so Y(1) ≥ Y(0)), which lets the answer key report the
sample ATT exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcomes.demo.people import Learners
from outcomes.demo.spec import InstitutionSpec
from outcomes.vocab import ACTIVITIES, BASELINE_EMPLOYMENT, PRIOR_EDUCATION

FIRST_YEAR_OF_TREND = 2021
OTHER_ACTIVITIES = tuple(a for a in ACTIVITIES if a not in ("employed_full_time", "unknown"))
FULL_TIME = ACTIVITIES.index("employed_full_time")
PART_TIME = ACTIVITIES.index("employed_part_time")
SELF_EMPLOYED = ACTIVITIES.index("self_employed")
INTERNSHIP = ACTIVITIES.index("internship")
MILITARY = ACTIVITIES.index("military")
CONTINUING_EDUCATION = ACTIVITIES.index("continuing_education")
EMPLOYED = (FULL_TIME, PART_TIME, SELF_EMPLOYED)
# Activities with hours and pay, as the instruments ask them (instruments.canonical).
WORKING = (*EMPLOYED, INTERNSHIP, MILITARY)
KEPT_PRE_AWARD_JOB = 0.6  # share of the employed-at-baseline who still hold that job
MISSING = -1  # integer columns use −1 for "no value"


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _lookup(mapping: dict[str, float], order: tuple[str, ...], index: np.ndarray) -> np.ndarray:
    return np.array([mapping[key] for key in order])[index]


def _likert(values: np.ndarray, low: int = 1, high: int = 5) -> np.ndarray:
    return np.clip(np.rint(values), low, high).astype(np.int64)


@dataclass(frozen=True)
class Completion:
    """Outcome of the enrolment: the treatment (earning the credential) and when it ended."""

    probability: np.ndarray  # the planted selection model's P(complete | X)
    status: np.ndarray  # "completed" | "withdrawn" | "in_progress"
    ended_on: np.ndarray  # datetime64[D]; NaT while in progress
    treated: np.ndarray  # bool: completed, so holds the credential


def completion_logit(spec: InstitutionSpec, learners: Learners) -> np.ndarray:
    """Linear index of the selection model (see ``planted.completion``)."""
    model = spec.planted.completion
    shift = np.array([p.completion_shift for p in spec.programmes])
    return (
        model.intercept
        + shift[learners.programme]
        + _lookup(model.prior_education, PRIOR_EDUCATION, learners.prior_education)
        + _lookup(model.baseline_employment, BASELINE_EMPLOYMENT, learners.baseline_employment)
        + model.per_decade_of_age * learners.age_decades
    )


def draw_completion(rng: np.random.Generator, spec: InstitutionSpec, learners: Learners):
    """Who completes (selection on observables), who withdraws and when."""
    n = len(learners)
    today = np.datetime64(spec.institution.today, "D")
    probability = expit(completion_logit(spec, learners))
    completes = rng.random(n) < probability
    course_days = (learners.planned_end - learners.started_on).astype(np.int64)
    exit_on = learners.started_on + np.floor(rng.uniform(0.1, 0.9, n) * course_days).astype(
        "timedelta64[D]"
    )
    completed = completes & (learners.planned_end < today)
    withdrawn = ~completes & (exit_on < today)
    status = np.where(completed, "completed", np.where(withdrawn, "withdrawn", "in_progress"))
    ended_on = np.where(
        completed, learners.planned_end, np.where(withdrawn, exit_on, np.datetime64("NaT"))
    ).astype("datetime64[D]")
    return Completion(probability, status.astype(object), ended_on, completed)


@dataclass(frozen=True)
class PersonEffects:
    """Per-learner draws that persist across waves."""

    employment_logit_effect: np.ndarray  # planted programme effect (after any redesign)
    log_salary_effect: np.ndarray  # planted shift + person heterogeneity
    employment_person: np.ndarray  # unobserved, independent of completion
    salary_person: np.ndarray
    satisfaction_mean: np.ndarray


def draw_person_effects(
    rng: np.random.Generator, spec: InstitutionSpec, learners: Learners
) -> PersonEffects:
    """The planted effect each learner would get, and their persistent unobservables."""
    n = len(learners)
    emp = np.empty(n)
    sal = np.empty(n)
    sat = np.empty(n)
    for p, programme in enumerate(spec.programmes):
        members = learners.programme == p
        emp[members] = programme.effect.employment_logit
        sal[members] = programme.effect.log_salary
        sat[members] = programme.satisfaction_mean
        if programme.redesign is not None:
            after = members & (
                learners.planned_end >= np.datetime64(programme.redesign.effective_from, "D")
            )
            emp[after] = programme.redesign.effect.employment_logit
            sal[after] = programme.redesign.effect.log_salary
            sat[after] = programme.redesign.satisfaction_mean
    planted = spec.planted
    return PersonEffects(
        employment_logit_effect=emp,
        log_salary_effect=sal + rng.normal(0, planted.salary.effect_sd, n),
        employment_person=rng.normal(0, planted.employment.person_sd, n),
        salary_person=rng.normal(0, planted.salary.log_sd_person, n),
        satisfaction_mean=sat,
    )


@dataclass(frozen=True)
class WaveOutcomes:
    """Potential and realised outcomes of a chunk of learners at one follow-up."""

    months: int
    p0: np.ndarray  # P(full-time | not treated)
    p1: np.ndarray  # P(full-time | treated)
    full_time0: np.ndarray
    full_time1: np.ndarray
    log_salary0: np.ndarray  # latent full-time salary
    log_salary1: np.ndarray
    activity: np.ndarray  # realised, index into models.ACTIVITIES
    employed: np.ndarray  # realised: full-time, part-time or self-employed
    working: np.ndarray  # employed, internship or military: hours and pay are asked
    job_held_before_award: np.ndarray  # 0/1 or MISSING (not working)
    hours: np.ndarray  # NaN when not working
    salary: np.ndarray  # annual EUR, NaN when unpaid
    salary_excluded: np.ndarray
    occupation: np.ndarray  # ISCO major group or None
    industry: np.ndarray  # ISIC section or None
    job_related: np.ndarray  # 1–5 or MISSING
    promoted: np.ndarray  # 0/1 or MISSING
    satisfaction: np.ndarray
    nps: np.ndarray
    voice_meaningful: np.ndarray
    voice_future: np.ndarray
    voice_skills: np.ndarray
    months_to_first_job: np.ndarray  # whole months, for those working in a new job; else NaN
    skills_used: np.ndarray  # 1–5 (36 months, working) or MISSING


def _coded(
    rng: np.random.Generator,
    programme: np.ndarray,
    tables: list[dict[str, float]],
    mask: np.ndarray,
) -> np.ndarray:
    out = np.full(programme.size, None, dtype=object)
    for p, table in enumerate(tables):
        idx = np.flatnonzero(mask & (programme == p))
        if idx.size:
            codes = np.array(list(table), dtype=object)
            share = np.array(list(table.values()))
            out[idx] = codes[rng.choice(codes.size, size=idx.size, p=share / share.sum())]
    return out


def draw_wave(
    rng: np.random.Generator,
    spec: InstitutionSpec,
    learners: Learners,
    person: PersonEffects,
    treated: np.ndarray,
    months: int,
) -> WaveOutcomes:
    """Simulate both potential outcomes at ``months`` after exit, and the realised one."""
    n = len(learners)
    planted = spec.planted
    emp_model = planted.employment
    years_since = learners.award_year - FIRST_YEAR_OF_TREND
    eta0 = (
        emp_model.intercept_by_months[months]
        + _lookup(emp_model.prior_education, PRIOR_EDUCATION, learners.prior_education)
        + _lookup(emp_model.baseline_employment, BASELINE_EMPLOYMENT, learners.baseline_employment)
        + emp_model.per_decade_of_age * learners.age_decades
        + emp_model.trend_per_year * years_since
        + person.employment_person
    )
    eta1 = eta0 + person.employment_logit_effect * emp_model.effect_by_months[months]
    p0, p1 = expit(eta0), expit(eta1)
    u = rng.random(n)
    full_time0, full_time1 = u < p0, u < p1
    full_time = np.where(treated, full_time1, full_time0)

    other_share = np.array([emp_model.other_activities[a] for a in OTHER_ACTIVITIES])
    other = np.array([ACTIVITIES.index(a) for a in OTHER_ACTIVITIES])[
        rng.choice(other_share.size, size=n, p=other_share / other_share.sum())
    ]
    activity = np.where(full_time, FULL_TIME, other)
    employed = np.isin(activity, EMPLOYED)
    working = np.isin(activity, WORKING)

    sal = planted.salary
    premium = np.array([p.salary_premium for p in spec.programmes])[learners.programme]
    log_salary0 = (
        sal.log_intercept
        + premium
        + _lookup(sal.prior_education, PRIOR_EDUCATION, learners.prior_education)
        + sal.per_decade_of_age * learners.age_decades
        + sal.trend_per_year * years_since
        + sal.growth_by_months[months]
        + person.salary_person
        + rng.normal(0, sal.log_sd_wave, n)
    )
    log_salary1 = log_salary0 + person.log_salary_effect
    full_time_salary = np.exp(np.where(treated, log_salary1, log_salary0))

    ft_hours = rng.integers(
        int(sal.full_time_hours.minimum), int(sal.full_time_hours.maximum) + 1, n
    )
    pt_hours = rng.integers(
        int(sal.part_time_hours.minimum), int(sal.part_time_hours.maximum) + 1, n
    )
    hours = np.select(
        [
            activity == FULL_TIME,
            activity == PART_TIME,
            activity == SELF_EMPLOYED,
            activity == INTERNSHIP,
            activity == MILITARY,
        ],
        [
            ft_hours,
            pt_hours,
            rng.integers(15, 51, n),
            rng.integers(25, 41, n),
            rng.integers(37, 41, n),
        ],
        default=np.nan,
    ).astype(float)
    internship_pay = rng.uniform(sal.internship_salary.minimum, sal.internship_salary.maximum, n)
    salary = np.select(
        [
            activity == FULL_TIME,
            activity == PART_TIME,
            activity == SELF_EMPLOYED,
            activity == INTERNSHIP,
            activity == MILITARY,
        ],
        [
            full_time_salary,
            full_time_salary * hours / 40.0,
            full_time_salary * np.exp(rng.normal(-0.05, 0.3, n)),
            internship_pay,
            full_time_salary * 0.8,
        ],
        default=np.nan,
    )
    salary = np.round(salary, -2)
    # The floor rule of instruments.canonical; the top cap is a cohort quantile applied later.
    salary_excluded = working & (salary < sal.floor)

    occupation = _coded(rng, learners.programme, [p.occupations for p in spec.programmes], working)
    industry = _coded(rng, learners.programme, [p.industries for p in spec.programmes], working)

    voice = planted.voice
    job_related = np.where(
        working,
        _likert(
            voice.job_related_mean + voice.job_related_treated_shift * treated + rng.normal(0, 1, n)
        ),
        MISSING,
    )
    promo = planted.promotion_36m
    promoted = np.where(
        working & (months == 36),
        (rng.random(n) < promo.base + promo.treated_shift * treated).astype(np.int64),
        MISSING,
    )

    s = planted.satisfaction
    sat_latent = (
        person.satisfaction_mean
        + np.where(treated, s.completer_shift, s.non_completer_shift)
        + s.employed_shift * employed
        + rng.normal(0, s.sd, n)
    )
    satisfaction = _likert(sat_latent)
    nps = np.clip(np.rint(2 * sat_latent + rng.normal(0, s.nps_sd, n)), 0, 10).astype(np.int64)

    idle = ~working & (activity != CONTINUING_EDUCATION)
    voice_shift = voice.not_employed_shift * idle + 0.3 * (job_related >= 4)
    voice_meaningful = _likert(voice.meaningful + voice_shift + rng.normal(0, voice.sd, n))
    voice_future = _likert(voice.future + voice_shift + rng.normal(0, voice.sd, n))
    voice_skills = _likert(voice.skills + voice_shift + rng.normal(0, voice.sd, n))

    employed_before = np.isin(
        learners.baseline_employment,
        [
            BASELINE_EMPLOYMENT.index(k)
            for k in ("employed_full_time", "employed_part_time", "self_employed")
        ],
    )
    kept_job = working & employed_before & (rng.random(n) < KEPT_PRE_AWARD_JOB)
    ttj = planted.time_to_first_job
    share = rng.beta(ttj.beta_a, ttj.beta_b + ttj.treated_b_shift * treated)
    months_to_first_job = np.where(working & ~kept_job, np.floor(months * share), np.nan)
    skills_used = np.where(
        working & (months == 36),
        _likert(3.3 + 0.5 * treated + 0.3 * (job_related >= 4) + rng.normal(0, 0.9, n)),
        MISSING,
    )

    return WaveOutcomes(
        months=months,
        p0=p0,
        p1=p1,
        full_time0=full_time0,
        full_time1=full_time1,
        log_salary0=log_salary0,
        log_salary1=log_salary1,
        activity=activity,
        employed=employed,
        working=working,
        job_held_before_award=np.where(working, kept_job.astype(np.int64), MISSING),
        hours=hours,
        salary=np.where(working, salary, np.nan),
        salary_excluded=salary_excluded,
        occupation=occupation,
        industry=industry,
        job_related=job_related,
        promoted=promoted,
        satisfaction=satisfaction,
        nps=nps,
        voice_meaningful=voice_meaningful,
        voice_future=voice_future,
        voice_skills=voice_skills,
        months_to_first_job=months_to_first_job,
        skills_used=skills_used,
    )
