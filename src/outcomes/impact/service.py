"""Impact services: read pseudonymous data through ``store`` and run the pure analysis.

This is the seam between the database and ``outcomes.analysis``: counts are aggregated in
the database (``aggregates.metric_counts``), only the small salary frame and the comparison
frame travel to Python, and the analysis layer never sees names or e-mails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlmodel import Session

from outcomes.analysis.compare import ComparisonResult, compare_groups
from outcomes.analysis.disclosure import DisclosurePolicy, DisclosureResult
from outcomes.analysis.metrics import (
    MetricsPanel,
    eligible_salaries,
    fulltime_mask,
    metrics_from_counts,
)
from outcomes.analysis.publication import publishable_metrics_table
from outcomes.analysis.trends import ProgrammeComparisons, compare_programmes
from outcomes.analysis.weighting import (
    AttritionTable,
    RakingResult,
    attrition_table,
    population_margins,
    rake_weights,
    weighted_rates,
)
from outcomes.config import Settings
from outcomes.errors import AnalysisRefused, NotFound
from outcomes.store import aggregates, frames
from outcomes.vocab import ACTIVITIES

# Baseline (pre-credential) covariates recorded at enrolment (domain.md section 5: age,
# prior education, baseline employment and pay). Gender is available on request but is not
# a default: it is not among the handbook's confounders and its small categories
# ("prefer not to say") separate easily.
DEFAULT_COVARIATES = ("age", "prior_education", "baseline_employment", "baseline_pay")
# Categories with fewer rows than this in either group are pooled into "other", so that a
# handful of people cannot cause perfect separation (coarsening, as in exact matching).
MIN_CATEGORY_ROWS = 10
BASELINE_WORKING = ("employed_full_time", "employed_part_time", "self_employed")
OUTCOMES = {
    "employed_full_time": "employed full-time (binary)",
    "employed": "employed, any hours (binary)",
    "log_salary": "log of annualised full-time salary (continuous)",
}


def metrics_from_database(
    session: Session,
    settings: Settings,
    *,
    group_by: Sequence[str] = ("programme",),
    wave_months: int | None = 6,
    treated: bool | None = True,
    programme_ids: set[int] | None = None,
) -> MetricsPanel:
    """The standard metrics panel, with the counting done by the database."""
    keys = tuple(group_by)
    filters: dict[str, object] = {
        "wave_months": wave_months,
        "treated": treated,
        "programme_ids": programme_ids,
    }
    counts = aggregates.metric_counts(
        session=session, group_by=keys, fulltime_hours=settings.fulltime_hours, **filters
    )
    if counts.empty:
        raise NotFound("No invited graduates match these filters, so there is nothing to report.")
    salary_frame = aggregates.salary_rows(
        session=session, group_by=keys, fulltime_hours=settings.fulltime_hours, **filters
    )
    salaries, exclusions = eligible_salaries(
        salary_frame,
        keys,
        fulltime_only=True,
        top_quantile=settings.salary_top_quantile,
        floor=settings.salary_floor,
    )
    return metrics_from_counts(counts, keys, salaries=salaries, salary_exclusions=exclusions)


def prepare_comparison_frame(
    frame: pd.DataFrame, *, outcome: str, fulltime_hours: float
) -> pd.DataFrame:
    """Holders and withdrawn non-completers with a known outcome, the outcome derived.

    ``employed_full_time`` follows the metrics' definition (hours decide when known);
    ``log_salary`` is defined for the full-time employed with an eligible salary only.
    """
    # Holders against enrolled-but-not-completed (domain.md section 5): completers without
    # an active credential (revoked, or not yet issued) belong to neither group.
    comparable = frame["treated"] | (frame["enrolment_status"] == "withdrawn")
    known = frame[frame["known"] & comparable].copy()
    codes = pd.Categorical(known["activity"], categories=ACTIVITIES).codes.astype(np.int64)
    codes = np.where(codes < 0, ACTIVITIES.index("unknown"), codes)
    hours = known["hours_per_week"].astype("float64").to_numpy(na_value=np.nan)
    fulltime = fulltime_mask(codes, hours, fulltime_hours)
    employed = np.isin(codes, [ACTIVITIES.index(c) for c in ACTIVITIES[:3]])
    # Everyone whose activity is known is in scope: "not seeking" counts as not employed,
    # as in the potential-outcome definition; dropping them would select on the outcome.
    in_scope = codes != ACTIVITIES.index("unknown")
    if outcome == "employed_full_time":
        known = known[in_scope]
        known["employed_full_time"] = fulltime[in_scope].astype(float)
    elif outcome == "employed":
        known = known[in_scope]
        known["employed"] = employed[in_scope].astype(float)
    elif outcome == "log_salary":
        salary = known["salary_annual"].astype("float64").to_numpy(na_value=np.nan)
        excluded = known["salary_excluded"].fillna(False).astype(bool).to_numpy()
        keep = fulltime & ~np.isnan(salary) & ~excluded & (salary > 0)
        known = known[keep]
        known["log_salary"] = np.log(salary[keep])
    else:
        raise AnalysisRefused(f"Unknown outcome '{outcome}': use one of {', '.join(OUTCOMES)}.")
    # No pay is zero pay for those not working at baseline; for those who were working, a
    # missing salary is unknown, flagged by its own indicator rather than read as zero.
    salary = known["baseline_salary"].astype("float64")
    working = known["baseline_employment"].isin(BASELINE_WORKING)
    known["baseline_pay"] = np.log1p(salary.fillna(0.0))
    known["baseline_pay_missing"] = (working & salary.isna()).astype(float)
    known["treated"] = known["treated"].astype(int)
    known["age"] = known["age"].astype("float64")
    for column in ("gender", "prior_education", "baseline_employment"):
        known[column] = pool_rare_categories(known[column], known["treated"])
    return known.reset_index(drop=True)


def pool_rare_categories(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Merge categories with fewer than ``MIN_CATEGORY_ROWS`` rows in either group into "other"."""
    table = pd.crosstab(values, groups)
    rare = table.index[(table < MIN_CATEGORY_ROWS).any(axis=1)] if len(table) else []
    pooled = values.astype("string").where(~values.isin(list(rare)), "other")
    return pooled


def comparison_from_database(
    session: Session,
    settings: Settings,
    *,
    programme: str,
    wave_months: int,
    outcome: str = "employed_full_time",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    method: str = "aipw",
    estimand: str = "att",
) -> ComparisonResult:
    """Holders of ``programme`` versus its non-completers, ``wave_months`` after exit."""
    frame = frames.analysis_frame(
        session=session, wave_months=wave_months, programme_codes=[programme]
    )
    if frame.empty:
        raise NotFound(
            f"No invited graduates of programme '{programme}' at {wave_months} months were found."
        )
    prepared = prepare_comparison_frame(
        frame, outcome=outcome, fulltime_hours=settings.fulltime_hours
    )
    chosen = list(covariates)
    if "baseline_pay" in chosen and prepared["baseline_pay_missing"].nunique() > 1:
        chosen.append("baseline_pay_missing")
    return compare_groups(
        prepared,
        outcome=outcome,
        treatment="treated",
        covariates=chosen,
        method=method,  # type: ignore[arg-type]
        estimand=estimand,  # type: ignore[arg-type]
    )


def publishable_metrics(panel: MetricsPanel, policy: DisclosurePolicy) -> DisclosureResult:
    """The metrics panel as a reviewer may see it (``analysis.publication``'s rules)."""
    return publishable_metrics_table(panel.to_frame(), policy)


# --- non-response and programme-vs-programme ------------------------------------------------

RAKING_MARGINS = ("programme", "cohort", "prior_education", "baseline_employment")


@dataclass(frozen=True)
class NonResponseReport:
    """Who answered, how they differ from who did not, and what weighting changes."""

    attrition: AttritionTable
    raking: RakingResult
    rates: pd.DataFrame  # per programme: unweighted next to weighted full-time rate
    margins: tuple[str, ...]


def nonresponse_report(
    session: Session,
    settings: Settings,
    *,
    wave_months: int = 6,
    programme_ids: set[int] | None = None,
) -> NonResponseReport:
    """Respondents vs non-respondents among holders invited to a wave, and raked rates.

    Respondents are raked to the invited population's margins (programme, cohort, prior
    education, baseline employment) with weights trimmed at five times the mean; the
    full-time employment rate is then shown unweighted next to weighted, with the design
    effect and effective n (HESA found little gain from weighting, hence both views).
    """
    frame = frames.analysis_frame(
        session=session, wave_months=wave_months, treated=True, programme_ids=programme_ids
    )
    if frame.empty:
        raise NotFound(f"No holders were invited to a wave at {wave_months} months.")
    frame = frame[frame["invited"]].copy()  # non-response is among those sent the survey
    frame["cohort"] = frame["cohort"].astype("string")
    attrition = attrition_table(frame, responded="responded")
    respondents = frame[frame["responded"]].copy()
    for column in ("prior_education", "baseline_employment"):
        frame[column] = pool_rare_categories(frame[column], frame["responded"].astype(int))
        respondents[column] = frame.loc[respondents.index, column]
    raking = rake_weights(respondents, population_margins(frame, RAKING_MARGINS))
    respondents["weight"] = raking.weights.to_numpy()
    prepared = prepare_comparison_frame(
        respondents, outcome="employed_full_time", fulltime_hours=settings.fulltime_hours
    )
    rates = weighted_rates(prepared, "employed_full_time", "weight", group_by=("programme",))
    return NonResponseReport(attrition, raking, rates, RAKING_MARGINS)


def programme_differences(
    session: Session,
    settings: Settings,
    *,
    wave_months: int = 6,
    correction: str = "holm",
    programme_ids: set[int] | None = None,
) -> ProgrammeComparisons:
    """Full-time employment of holders, every programme against every other, corrected."""
    frame = frames.analysis_frame(
        session=session, wave_months=wave_months, treated=True, programme_ids=programme_ids
    )
    prepared = prepare_comparison_frame(
        frame, outcome="employed_full_time", fulltime_hours=settings.fulltime_hours
    )
    if correction not in ("holm", "bh"):
        raise AnalysisRefused(f"Unknown correction '{correction}': use holm or bh.")
    return compare_programmes(
        prepared,
        "employed_full_time",
        "programme",
        correction=correction,  # type: ignore[arg-type]
    )
