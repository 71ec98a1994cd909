"""Survey fieldwork of the demo: waves, invitations, who answers, and other outcome sources.

Waves cover one award-year cohort at 0 (exit), 6 and 36 months; a learner is invited
``months`` after their exit date (award date for completers, withdrawal date for
non-completers), so the comparison group has outcomes too. Non-response depends on the
outcome (employed graduates answer more often). Nothing happens after the demo's "today".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from outcomes.demo.outcomes_model import WaveOutcomes, expit
from outcomes.demo.people import Learners
from outcomes.demo.spec import WAVE_MONTHS, InstitutionSpec

SECONDS_PER_DAY = 86_400
WAVE_CLOSES_AFTER_COHORT_MONTHS = 3


def add_months(days: np.ndarray, k: int) -> np.ndarray:
    """Dates ``k`` months later (the day clipped to the target month's length); NaT stays."""
    month = days.astype("datetime64[M]")
    offset = days - month.astype("datetime64[D]")
    target = (month + k).astype("datetime64[D]") + offset
    last_day = (month + k + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.minimum(target, last_day)


def _add_months(day: dt.date, k: int) -> dt.date:
    return add_months(np.array([day], dtype="datetime64[D]"), k)[0].astype(object)


@dataclass(frozen=True)
class WavePlan:
    """One survey wave: an award-year cohort at a number of months after exit."""

    award_year: int
    months: int
    name: str
    cohort_start: dt.date
    cohort_end: dt.date
    opens_on: dt.date
    closes_on: dt.date
    status: str


def plan_waves(spec: InstitutionSpec) -> list[WavePlan]:
    """Every wave that has opened by the demo's today, closed or still open."""
    today = spec.institution.today
    plans = []
    for year in spec.award_years:
        for months in WAVE_MONTHS:
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
            opens_on = _add_months(start, months)
            closes_on = _add_months(end, months + WAVE_CLOSES_AFTER_COHORT_MONTHS)
            if opens_on > today:
                continue  # not created until it is due
            status = "closed" if closes_on < today else "open"
            label = "at exit" if months == 0 else f"{months} months"
            plans.append(
                WavePlan(
                    year,
                    months,
                    f"{year} cohort — {label}",
                    start,
                    end,
                    opens_on,
                    closes_on,
                    status,
                )
            )
    return plans


@dataclass(frozen=True)
class Fieldwork:
    """One wave's invitations and answers for a chunk; arrays span the whole chunk."""

    months: int
    due: np.ndarray  # bool: exited and the invitation date has passed (opted out or not)
    invited: np.ndarray  # bool
    sent_at: np.ndarray  # datetime64[s]
    expires_at: np.ndarray
    reminders: np.ndarray
    reminded_at: np.ndarray
    opened_at: np.ndarray
    opted_out_at: np.ndarray
    response_probability: np.ndarray  # planted P(answer | outcome, X)
    responded: np.ndarray  # bool: a response row exists
    partial: np.ndarray  # bool: saved but not submitted
    revised: np.ndarray  # bool: two saved revisions
    started_at: np.ndarray
    first_saved_at: np.ndarray  # revision 1 of a revised response
    saved_at: np.ndarray  # last save (submission when complete)
    submitted_at: np.ndarray
    other_source: np.ndarray  # None, "employer", "staff_verified" or "public_profile"
    other_observed_on: np.ndarray  # datetime64[D]


def _seconds(days: np.ndarray) -> np.ndarray:
    return (days * SECONDS_PER_DAY).astype(np.int64).astype("timedelta64[s]")


def draw_fieldwork(
    rng: np.random.Generator,
    spec: InstitutionSpec,
    learners: Learners,
    treated: np.ndarray,
    ended_on: np.ndarray,
    opted_out_before: np.ndarray,
    wave: WaveOutcomes,
) -> Fieldwork:
    """Invitations, reminders, answers and other sources at one follow-up."""
    n = len(learners)
    model = spec.planted.response
    months = wave.months
    now = np.datetime64(spec.institution.today, "s")
    nat = np.datetime64("NaT", "s")

    sent_day = add_months(ended_on, months) + rng.integers(1, 11, n).astype("timedelta64[D]")
    sent_at = sent_day.astype("datetime64[s]") + _seconds(rng.uniform(0.375, 0.70, n))
    due = ~np.isnat(ended_on) & (sent_at < now)
    invited = due & ~opted_out_before
    expires_at = sent_at + np.timedelta64(model.invitation_valid_days, "D")

    probability = expit(
        model.intercept_by_months[months]
        + model.employed * wave.employed
        + model.completer * treated
        + model.per_decade_of_age * learners.age_decades
    )
    answer_day = 0.02 + rng.exponential(model.mean_days_to_answer, n)
    answer_at = sent_at + _seconds(answer_day)
    responded = (
        invited
        & (rng.random(n) < probability)
        & (answer_day <= model.last_answer_day)
        & (answer_at < now)
    )
    partial = responded & (rng.random(n) < model.partial_share)
    revised = responded & ~partial & (rng.random(n) < model.revised_share)
    minutes = _seconds(rng.uniform(3, 15, n) / 1440)
    started_at = np.where(revised, sent_at + _seconds(answer_day * 0.5), answer_at - minutes)
    started_at = np.maximum(started_at, sent_at + np.timedelta64(60, "s"))
    first_saved_at = np.where(revised, started_at + minutes, nat)

    reminders = np.zeros(n, dtype=np.int64)
    reminded_at = np.full(n, nat)
    for day in model.reminder_days:
        reminder_at = sent_at + np.timedelta64(day, "D")
        remind = invited & (reminder_at < now) & ~(responded & (started_at <= reminder_at))
        reminders += remind
        reminded_at = np.where(remind, reminder_at, reminded_at)

    silent = invited & ~responded
    opened_only = silent & (rng.random(n) < model.opened_not_answered_share)
    opened_at = np.where(responded, started_at, np.where(opened_only, answer_at, nat))
    opened_at = np.where(opened_at < now, opened_at, nat)
    opt_out_at = sent_at + _seconds(rng.uniform(0.05, 10, n))
    opted_out = silent & (rng.random(n) < model.opt_out_share) & (opt_out_at < now)

    other = spec.planted.other_sources
    u = rng.random(n)
    public = np.where(
        wave.employed, other.public_profile_employed, other.public_profile_not_employed
    )
    employer_cut = np.where(wave.employed, other.employer, 0.0)
    staff_cut = employer_cut + other.staff_verified
    other_source = np.full(n, None, dtype=object)
    other_source[silent & (u < staff_cut + public)] = "public_profile"
    other_source[silent & (u < staff_cut)] = "staff_verified"
    other_source[silent & (u < employer_cut)] = "employer"
    observed = sent_day + rng.integers(14, 91, n).astype("timedelta64[D]")
    yesterday = np.datetime64(spec.institution.today, "D") - np.timedelta64(1, "D")
    other_observed_on = np.minimum(observed, yesterday)

    return Fieldwork(
        months=months,
        due=due,
        invited=invited,
        sent_at=sent_at,
        expires_at=expires_at,
        reminders=reminders,
        reminded_at=reminded_at,
        opened_at=opened_at,
        opted_out_at=np.where(opted_out, opt_out_at, nat),
        response_probability=probability,
        responded=responded,
        partial=partial,
        revised=revised,
        started_at=started_at,
        first_saved_at=first_saved_at,
        saved_at=answer_at,
        submitted_at=np.where(responded & ~partial, answer_at, nat),
        other_source=other_source,
        other_observed_on=other_observed_on,
    )
