"""The impact dashboard as one service call: every section computed, or refused with a reason.

Every count, average, rate and refusal the dashboard shows passes through the viewer's
:class:`~outcomes.analysis.publication.Publication`: exact for managers and administrators
(their own programmes), rounded and withheld under the disclosure policy for reviewers. A
section that cannot be computed defensibly carries the analysis layer's one-sentence refusal,
worded by the same publication, instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from sqlmodel import Session

from outcomes.access import permissions
from outcomes.access.staff import assigned_scope
from outcomes.analysis.compare import ComparisonResult
from outcomes.analysis.disclosure import DisclosurePolicy
from outcomes.analysis.publication import Publication
from outcomes.analysis.survival import KaplanMeierResult, kaplan_meier
from outcomes.analysis.trends import rate_by_cohort
from outcomes.analysis.weighting import AttritionTable
from outcomes.config import Settings
from outcomes.errors import NotFound, OutcomesError
from outcomes.impact.service import (
    OUTCOMES,
    comparison_from_database,
    metrics_from_database,
    nonresponse_report,
    prepare_comparison_frame,
    programme_differences,
)
from outcomes.store import frames, reads

WAVES = {0: "At award (exit survey)", 6: "6 months after award", 36: "36 months after award"}
HEADLINE_METRICS = (
    "response_rate",
    "knowledge_rate",
    "career_outcomes_rate",
    "fulltime_employment_rate",
    "overall_employment_rate",
    "salary_p50",
    "satisfaction_agree",
    "nps",
)


T = TypeVar("T")


@dataclass(frozen=True)
class Section(Generic[T]):
    """A computed part of the dashboard, or the reason it could not be computed."""

    value: T | None
    refusal: str | None = None


@dataclass(frozen=True)
class NonResponseView:
    """Non-response as the dashboard shows it (through the viewer's publication)."""

    summary: str
    attrition: pd.DataFrame
    rates: pd.DataFrame


@dataclass(frozen=True)
class Dashboard:
    """Everything the impact page shows for one wave and one programme."""

    wave_months: int
    programme: str | None
    programmes: tuple[str, ...]
    metrics: Section[pd.DataFrame]
    disclosure_statement: str | None
    comparison: Section[ComparisonResult]
    trend: Section[pd.DataFrame]
    time_to_job: Section[KaplanMeierResult]
    nonresponse: Section[NonResponseView]
    programme_pairs: Section[pd.DataFrame]
    publication: Publication  # how this viewer reads every figure below
    outcome_label: str = "employed full-time"
    response_rate_target: float = 0.6

    def employment_rates(self) -> pd.DataFrame:
        """Full-time employment rate per programme for the chart (withheld rates left out)."""
        table = self.metrics.value
        columns = ["programme", "estimate", "ci_low", "ci_high"]
        if table is None:
            return pd.DataFrame(columns=columns)
        rates = table[table["metric"] == "fulltime_employment_rate"]
        if "rate_estimate" in rates.columns:
            rates = rates.rename(
                columns={"rate_estimate": "estimate", "rate_ci_low": "ci_low",
                         "rate_ci_high": "ci_high"}
            )  # fmt: skip
        rates = rates[columns].dropna(subset=["estimate"])
        return rates.astype({"estimate": "float64", "ci_low": "float64", "ci_high": "float64"})

    def below_target(self) -> list[str]:
        """Programmes whose response rate is below the target (domain.md section 4)."""
        table = self.metrics.value
        if table is None:
            return []
        column = "rate_estimate" if "rate_estimate" in table.columns else "estimate"
        rates = table[table["metric"] == "response_rate"]
        low = rates[rates[column].astype("float64") < self.response_rate_target]
        return [str(code) for code in low["programme"]]

    def balance_frame(self) -> pd.DataFrame:
        """Covariate balance of the comparison (covariate, smd_before, smd_after)."""
        result = self.comparison.value
        rows = (
            []
            if result is None
            else [row.to_dict() | {"covariate": row.covariate} for row in result.balance]
        )
        return pd.DataFrame(rows, columns=["covariate", "smd_before", "smd_after"])

    def overlap_sentence(self) -> str:
        """Propensity-score overlap of the comparison, in words."""
        result = self.comparison.value
        if result is None or result.overlap is None:
            return "No propensity model was fitted, so overlap was not assessed."
        o, n = result.overlap, self.publication.count_text
        return (
            f"Propensity scores range {o.propensity_min_treated:.2f}–"
            f"{o.propensity_max_treated:.2f} among holders and {o.propensity_min_control:.2f}–"
            f"{o.propensity_max_control:.2f} among non-completers; "
            f"{n(o.n_outside_common_support)} graduates fall outside the common support and "
            f"{n(o.n_trimmed)} were trimmed. Weighted, the {n(result.n_control)} "
            f"non-completers count as {n(o.effective_n_control)} (Kish effective sample "
            "size)."
        )

    def median_lines(self) -> list[str]:
        """Median time to first job per group, in words; withheld for small groups."""
        result = self.time_to_job.value
        if result is None:
            return []
        lines = []
        n = self.publication.count_text
        for curve in result.curves:
            if not self.publication.shows_average(curve.n):
                lines.append(f"{curve.group}: median withheld (too few graduates to publish it).")
            elif not np.isfinite(curve.median):
                lines.append(
                    f"{curve.group}: median not reached (fewer than half found a job in the "
                    f"period), n = {n(curve.n)}"
                )
            else:
                high = (
                    "not reached"
                    if not np.isfinite(curve.median_high)
                    else (f"{curve.median_high:.1f}")
                )
                lines.append(
                    f"{curve.group}: median {curve.median:.1f} months (95% CI "
                    f"{curve.median_low:.1f} to {high}), n = {n(curve.n)}"
                )
        return lines

    def survival_frame(self) -> pd.DataFrame:
        """Kaplan–Meier curves for the chart, through the viewer's publication.

        A curve's points are shares of its group: withheld where the group is below the
        percentage base, and where the number at risk is withheld (the step would reveal
        it); numbers at risk are counts.
        """
        result = self.time_to_job.value
        if result is None:
            return pd.DataFrame()
        frame = result.to_frame()
        sizes = {curve.group: curve.n for curve in result.curves}
        frame["n"] = frame["group"].map(sizes).astype("float64")
        shares = ("survival", "lower", "upper", "employed", "employed_lower", "employed_upper")
        published = self.publication.table(
            frame, counts=("at_risk", "n"), rates=dict.fromkeys(shares, ("at_risk", "n"))
        )
        return published[published["survival"].notna()].reset_index(drop=True)

    def headline(self) -> str | None:
        """The comparison as a sentence a manager can act on."""
        result = self.comparison.value
        if result is None or self.programme is None:
            return None
        more = result.estimate >= 0
        if result.outcome_kind == "binary":
            change = (
                f"{abs(result.estimate) * 100:.1f} percentage points "
                f"{'more' if more else 'less'} likely to be {self.outcome_label}"
            )
        else:
            change = (
                f"paid about {abs(result.estimate) * 100:.1f}% {'more' if more else 'less'} "
                "(difference in log full-time salary × 100)"
            )
        return (
            f"Holders of {self.programme} were {change} "
            f"{WAVES.get(self.wave_months, '').lower()} than comparable non-completers "
            f"(95% CI {result.ci_low * 100:+.1f} to {result.ci_high * 100:+.1f}; "
            f"{result.method.upper()}, {result.estimand.upper()}; "
            f"n = {self.publication.count_text(result.n_treated)} holders, "
            f"{self.publication.count_text(result.n_control)} non-completers)."
        )


def _section(publication: Publication, compute: Any, *args: Any, **kwargs: Any) -> Section[Any]:
    try:
        return Section(compute(*args, **kwargs))
    except OutcomesError as exc:
        return Section(None, publication.refusal(exc))


def _trend(
    session: Session,
    settings: Settings,
    programme: str,
    wave: int,
    publication: Publication,
) -> pd.DataFrame:
    frame = frames.analysis_frame(
        session=session, wave_months=wave, programme_codes=[programme], treated=True
    )
    prepared = prepare_comparison_frame(
        frame, outcome="employed_full_time", fulltime_hours=settings.fulltime_hours
    )
    table = rate_by_cohort(prepared, "employed_full_time", "cohort").to_frame()
    if table.empty:
        raise NotFound(f"No holder of {programme} has a known activity at {wave} months yet.")
    return publication.table(
        table,
        counts=("n", "successes"),
        rates=dict.fromkeys(("rate", "ci_low", "ci_high"), ("successes", "n")),
    )


def _time_to_job(session: Session, programme: str, wave: int) -> KaplanMeierResult:
    frame = frames.analysis_frame(session=session, wave_months=wave, programme_codes=[programme])
    known = frame[frame["months_to_first_job"].notna()].copy()
    known["duration"] = known["months_to_first_job"].astype("float64")
    censored = known["job_search_censored"].fillna(False).astype(bool)
    known["event"] = (~censored).astype(int)
    known["group"] = np.where(known["treated"], "holders", "non-completers")
    return kaplan_meier(known, "duration", "event", "group")


RATE_COLUMNS = (
    "unweighted",
    "unweighted_low",
    "unweighted_high",
    "weighted",
    "weighted_low",
    "weighted_high",
    "design_effect",  # n over effective n: with both published it would give n back
)


def _attrition(attrition: AttritionTable, publication: Publication) -> pd.DataFrame:
    """Respondents vs non-respondents, each share or mean on its group's size."""
    table = attrition.to_frame()
    level = table["level"] != "mean"
    sizes = {"respondents": attrition.n_respondents, "non_respondents": attrition.n_non_respondents}
    for group, size in sizes.items():
        table[f"{group}_n"] = (table[group] * size).round().where(level)  # people at the level
        table[f"{group}_base"] = float(size)
    table["smaller_base"] = float(min(sizes.values()))
    return publication.table(
        table,
        counts=(*(f"{g}_{part}" for g in sizes for part in ("n", "base")), "smaller_base"),
        rates={
            "respondents": ("respondents_n", "respondents_base"),
            "non_respondents": ("non_respondents_n", "non_respondents_base"),
            "std_difference": "smaller_base",
        },
    )


def _nonresponse(
    session: Session,
    settings: Settings,
    wave: int,
    scope: set[int] | None,
    publication: Publication,
) -> NonResponseView:
    report = nonresponse_report(session, settings, wave_months=wave, programme_ids=scope)
    raking, n = report.raking, publication.count_text
    respondents = report.attrition.n_respondents
    design = (
        f"design effect {raking.design_effect:.3f}, effective n {n(raking.effective_n)}"
        if publication.shows_rate(respondents)
        else "design effect withheld (too few respondents to publish it)"
    )
    summary = (
        f"{n(respondents)} respondents and {n(report.attrition.n_non_respondents)} "
        f"non-respondents. Respondents were raked to the invited population's "
        f"{', '.join(report.margins)}: {design}."
    )
    rates = publication.table(
        report.rates,
        counts=("n", "successes", "effective_n"),
        rates=dict.fromkeys(RATE_COLUMNS, "n"),
    )
    return NonResponseView(summary, _attrition(report.attrition, publication), rates)


def _pairs(
    session: Session,
    settings: Settings,
    wave: int,
    scope: set[int] | None,
    publication: Publication,
) -> pd.DataFrame:
    table = programme_differences(
        session, settings, wave_months=wave, programme_ids=scope
    ).to_frame()
    rate_columns = ("rate_first", "rate_second", "difference", "ci_low", "ci_high")
    table["smaller_n"] = table[["n_first", "n_second"]].min(axis=1)
    return publication.table(
        table,
        counts=("n_first", "n_second", "smaller_n"),
        rates=dict.fromkeys(rate_columns, "smaller_n"),
    )


def publication_for(role: str, settings: Settings) -> Publication:
    """How a viewer with ``role`` reads figures (``access.permissions.sees_exact_counts``)."""
    return Publication.for_viewer(
        exact=permissions.sees_exact_counts(role), policy=DisclosurePolicy.from_settings(settings)
    )


def build_dashboard(
    session: Session,
    settings: Settings,
    *,
    role: str,
    user_id: int | None,
    wave_months: int = 6,
    programme: str | None = None,
    outcome: str = "employed_full_time",
    method: str = "aipw",
) -> Dashboard:
    """Compute the dashboard for a viewer: their programmes, one wave, one programme.

    A manager assigned to no programme gets ``AccessDenied`` (one sentence), not an empty
    dashboard.
    """
    scope = assigned_scope(session, role, user_id)
    publication = publication_for(role, settings)
    codes = reads.programme_codes(session=session, scope=scope)
    chosen = programme if programme in codes else (codes[0] if codes else None)
    statement = None
    try:
        panel = metrics_from_database(
            session,
            settings,
            group_by=("programme",),
            wave_months=wave_months,
            programme_ids=scope,
        )
        table, statement = publication.metrics(panel.to_frame())
        metrics: Section[pd.DataFrame] = Section(table)
    except OutcomesError as exc:
        metrics = Section(None, publication.refusal(exc))
    if chosen is None:
        none: Section[Any] = Section(None, "No programme is visible to you.")
        return Dashboard(
            wave_months, None, codes, metrics, statement, none, none, none, none, none,
            publication=publication,
        )  # fmt: skip
    comparison: Section[ComparisonResult] = _section(
        publication,
        comparison_from_database,
        session,
        settings,
        programme=chosen,
        wave_months=wave_months,
        outcome=outcome,
        method=method,
    )
    trend: Section[pd.DataFrame] = _section(
        publication, _trend, session, settings, chosen, wave_months, publication
    )
    survival: Section[KaplanMeierResult] = _section(
        publication, _time_to_job, session, chosen, wave_months
    )
    nonresponse: Section[NonResponseView] = _section(
        publication, _nonresponse, session, settings, wave_months, scope, publication
    )
    pairs: Section[pd.DataFrame] = _section(
        publication, _pairs, session, settings, wave_months, scope, publication
    )
    return Dashboard(
        wave_months,
        chosen,
        codes,
        metrics,
        statement,
        comparison,
        trend,
        survival,
        nonresponse,
        pairs,
        outcome_label=OUTCOMES.get(outcome, outcome).split(" (")[0],
        publication=publication,
        response_rate_target=settings.response_rate_target,
    )
