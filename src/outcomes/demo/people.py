"""Who enrols: baseline covariates, programme and timing, names and e-mail addresses.

Everything is drawn vectorised from the caller's ``numpy.random.Generator``. Faker is only
used once, to fill pools of given and family names per locale from a dedicated, seeded
instance; learners then combine pool entries with the generator, which is fast and
deterministic.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass

import numpy as np
from faker import Faker

from outcomes.demo.spec import InstitutionSpec
from outcomes.vocab import BASELINE_EMPLOYMENT, GENDERS, PRIOR_EDUCATION

NAME_POOL_SIZE = 3000
EMPLOYED_AT_BASELINE = ("employed_full_time", "employed_part_time", "self_employed")


def ascii_slug(text: str) -> str:
    """``María José`` → ``mariajose``: lower-case ASCII letters only, for e-mail local parts."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.lower() if c.isascii() and c.isalpha())


@dataclass(frozen=True)
class NamePools:
    """Given and family names per locale (index 0 English, 1 Spanish), with their slugs."""

    given: tuple[np.ndarray, np.ndarray]
    family: tuple[np.ndarray, np.ndarray]
    given_slug: tuple[np.ndarray, np.ndarray]
    family_slug: tuple[np.ndarray, np.ndarray]


def make_name_pools(seed: int, size: int = NAME_POOL_SIZE) -> NamePools:
    """Draw the name pools once from a seeded Faker (same seed → same pools)."""
    fake = Faker(["en_GB", "es_ES"])
    fake.seed_instance(seed)
    given: list[np.ndarray] = []
    family: list[np.ndarray] = []
    for locale in ("en_GB", "es_ES"):
        local = fake[locale]
        given.append(np.array([local.first_name() for _ in range(size)], dtype=object))
        family.append(np.array([local.last_name() for _ in range(size)], dtype=object))
    slug = np.vectorize(ascii_slug, otypes=[object])
    return NamePools(
        given=(given[0], given[1]),
        family=(family[0], family[1]),
        given_slug=(slug(given[0]), slug(given[1])),
        family_slug=(slug(family[0]), slug(family[1])),
    )


def random_uuids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` version-4 UUID strings drawn from ``rng`` (deterministic, unlike ``uuid4``)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return [str(uuid.UUID(bytes=row.tobytes())) for row in raw]


@dataclass(frozen=True)
class Learners:
    """One chunk of learners with their enrolment plan; arrays are aligned by position."""

    number: np.ndarray  # 1-based learner number across the whole demo
    spanish: np.ndarray  # bool: Spanish name, e-mail and survey language
    birth_year: np.ndarray
    age_decades: np.ndarray  # (age at enrolment − 35) / 10
    gender: np.ndarray  # index into models.GENDERS
    prior_education: np.ndarray  # index into models.PRIOR_EDUCATION
    baseline_employment: np.ndarray  # index into models.BASELINE_EMPLOYMENT
    baseline_salary: np.ndarray  # EUR a year, NaN when not employed
    programme: np.ndarray  # index into spec.programmes
    award_year: np.ndarray
    started_on: np.ndarray  # datetime64[D]
    planned_end: np.ndarray  # datetime64[D]: the award date if they complete

    def __len__(self) -> int:
        return len(self.number)


def _choice(rng: np.random.Generator, shares: dict[str, float], order: tuple[str, ...], n: int):
    p = np.array([shares[key] for key in order], dtype=float)
    return rng.choice(len(order), size=n, p=p / p.sum())


def _day(value: dt.date | str) -> np.datetime64:
    return np.datetime64(value, "D")


def programme_windows(spec: InstitutionSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (award year, programme): earliest and latest award date, and intake weight.

    A cohort's award dates fall in its year, after a full course that started on or after
    1 January and after the launch, and no course starts after the demo's today.
    """
    years = spec.award_years
    today = _day(spec.institution.today)
    shape = (len(years), len(spec.programmes))
    lo = np.empty(shape, dtype="datetime64[D]")
    hi = np.empty(shape, dtype="datetime64[D]")
    weight = np.zeros(shape)
    for y, year in enumerate(years):
        for p, programme in enumerate(spec.programmes):
            duration = np.timedelta64(programme.duration_weeks * 7, "D")
            first_start = max(_day(f"{year}-01-01"), _day(programme.launched_on))
            lo[y, p] = first_start + duration
            hi[y, p] = min(_day(f"{year}-12-31"), today + duration)
            days = (hi[y, p] - lo[y, p]).astype(int)
            if days > 0:
                weight[y, p] = programme.weight * days / 365.0
    return lo, hi, weight


def draw_learners(
    rng: np.random.Generator, spec: InstitutionSpec, first_number: int, n: int
) -> Learners:
    """Draw ``n`` learners: covariates, programme, cohort and course dates."""
    population = spec.population
    years = np.array(spec.award_years)
    lo, hi, weight = programme_windows(spec)
    cohort_p = np.array([spec.cohorts[int(y)] for y in years]) * (weight.sum(axis=1) > 0)
    year_index = rng.choice(len(years), size=n, p=cohort_p / cohort_p.sum())
    # Within a year, programmes in proportion to weight × the share of the year they ran.
    programme = np.empty(n, dtype=np.int64)
    for y in range(len(years)):
        members = np.flatnonzero(year_index == y)
        if members.size:
            p = weight[y] / weight[y].sum()
            programme[members] = rng.choice(len(p), size=members.size, p=p)
    span = (hi[year_index, programme] - lo[year_index, programme]).astype(np.int64)
    planned_end = lo[year_index, programme] + np.floor(rng.random(n) * (span + 1)).astype(
        "timedelta64[D]"
    )
    weeks = np.array([p.duration_weeks for p in spec.programmes])[programme]
    started_on = planned_end - (weeks * 7).astype("timedelta64[D]")

    age_spec = population.age
    age = age_spec.offset + rng.gamma(age_spec.gamma_shape, age_spec.gamma_scale, size=n)
    age = np.clip(np.round(age), age_spec.minimum, age_spec.maximum).astype(np.int64)
    start_year = started_on.astype("datetime64[Y]").astype(np.int64) + 1970

    gender = _choice(rng, population.gender, GENDERS, n)
    education = _choice(rng, population.prior_education, PRIOR_EDUCATION, n)
    employment = _choice(rng, population.baseline_employment, BASELINE_EMPLOYMENT, n)

    salary_spec = population.baseline_salary
    edu_salary = np.array([salary_spec.prior_education[k] for k in PRIOR_EDUCATION])
    log_salary = (
        salary_spec.log_mean
        + edu_salary[education]
        + salary_spec.per_decade_of_age * (age - 35) / 10
        + rng.normal(0, salary_spec.log_sd, size=n)
    )
    salary = np.round(np.exp(log_salary), -2)
    part_time = employment == BASELINE_EMPLOYMENT.index("employed_part_time")
    salary = np.where(part_time, np.round(salary * salary_spec.part_time_factor, -2), salary)
    employed = np.isin(employment, [BASELINE_EMPLOYMENT.index(k) for k in EMPLOYED_AT_BASELINE])
    salary = np.where(employed, salary, np.nan)

    return Learners(
        number=np.arange(first_number, first_number + n, dtype=np.int64),
        spanish=rng.random(n) < spec.institution.spanish_share,
        birth_year=start_year - age - (rng.random(n) < 0.5),
        age_decades=(age - 35) / 10.0,
        gender=gender,
        prior_education=education,
        baseline_employment=employment,
        baseline_salary=salary,
        programme=programme,
        award_year=years[year_index],
        started_on=started_on,
        planned_end=planned_end,
    )


@dataclass(frozen=True)
class Identities:
    """Names and e-mail addresses of a chunk of learners."""

    given_name: list[str]
    family_name: list[str]
    email: list[str]


def draw_identities(
    rng: np.random.Generator, spec: InstitutionSpec, pools: NamePools, learners: Learners
) -> Identities:
    """Names from the pool of each learner's locale; e-mail from name + learner number."""
    n = len(learners)
    given_name = np.empty(n, dtype=object)
    family_name = np.empty(n, dtype=object)
    local_part = np.empty(n, dtype=object)
    for locale, mask in ((0, ~learners.spanish), (1, learners.spanish)):
        idx = np.flatnonzero(mask)
        g = rng.integers(0, len(pools.given[locale]), size=idx.size)
        f = rng.integers(0, len(pools.family[locale]), size=idx.size)
        given_name[idx] = pools.given[locale][g]
        if locale == 1:  # Spanish family names: both surnames
            f2 = rng.integers(0, len(pools.family[locale]), size=idx.size)
            family_name[idx] = pools.family[locale][f] + " " + pools.family[locale][f2]
            local_part[idx] = pools.given_slug[1][g] + "." + pools.family_slug[1][f]
        else:
            family_name[idx] = pools.family[locale][f]
            local_part[idx] = pools.given_slug[0][g] + "." + pools.family_slug[0][f]
    domains = np.array(spec.institution.email_domains, dtype=object)
    domain = domains[rng.integers(0, len(domains), size=n)]
    email = [
        f"{local}{number}@{dom}"
        for local, number, dom in zip(local_part, learners.number.tolist(), domain, strict=True)
    ]
    return Identities(given_name.tolist(), family_name.tolist(), email)
