"""The impact dashboard as one service call: every section computed, or refused with a reason.

Managers and administrators see the metrics as computed; reviewers see them only after
``impact.publishable_metrics`` (disclosure control). A section that cannot be computed
defensibly carries the analysis layer's one-sentence refusal instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from sqlmodel import Session

from outcomes.access.staff import viewer_scope
from outcomes.analysis.compare import ComparisonResult
from outcomes.analysis.disclosure import DisclosurePolicy, suppress_small_cells
from outcomes.analysis.survival import KaplanMeierResult, kaplan_meier
from outcomes.analysis.trends import rate_by_cohort
from outcomes.config import Settings
from outcomes.errors import NotFound, OutcomesError
from outcomes.impact.service import (
    OUTCOMES,
    comparison_from_database,
    metrics_from_database,
    nonresponse_report,
    prepare_comparison_frame,
    programme_differences,
    publishable_metrics,
)
from outcomes.store import queries

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
    """Non-response as the dashboard shows it (suppressed for reviewers)."""

    summary: str
    attrition: pd.DataFrame
    rates: pd.DataFrame


@dataclass(frozen=True)
class Dashboard:
    """Everything the impact page shows for one wave and one programme."""

    wave_months: int
    programme: str | None
    programmes: tuple[str, ...]
    suppressed: bool
    metrics: Section[pd.DataFrame]
    disclosure_statement: str | None
    comparison: Section[ComparisonResult]
    trend: Section[pd.DataFrame]
    time_to_job: Section[KaplanMeierResult]
    nonresponse: Section[NonResponseView]
    programme_pairs: Section[pd.DataFrame]
    outcome_label: str = "employed full-time"
    policy: DisclosurePolicy | None = None  # set for reviewers: what they see is suppressed
    response_rate_target: float = 0.6

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
        o = result.overlap
        return (
            f"Propensity scores range {o.propensity_min_treated:.2f}–"
            f"{o.propensity_max_treated:.2f} among holders and {o.propensity_min_control:.2f}–"
            f"{o.propensity_max_control:.2f} among non-completers; "
            f"{o.n_outside_common_support} graduates fall outside the common support and "
            f"{o.n_trimmed} were trimmed. Weighted, the {self._n(result.n_control)} "
            f"non-completers count as {self._n(o.effective_n_control)} (Kish effective sample "
            "size)."
        )

    def _n(self, count: float) -> str:
        """A count as this viewer may see it (rounded for reviewers)."""
        if self.policy is None:
            return f"{count:.0f}"
        return f"{int(self.policy.round_count(np.array([count]))[0])} (rounded)"

    def median_lines(self) -> list[str]:
        """Median time to first job per group, in words; withheld for small groups."""
        result = self.time_to_job.value
        if result is None:
            return []
        lines = []
        for curve in result.curves:
            if self.policy is not None and curve.n <= self.policy.max_n_hiding_average:
                lines.append(f"{curve.group}: withheld (fewer than 8 graduates).")
            elif not np.isfinite(curve.median):
                lines.append(
                    f"{curve.group}: median not reached (fewer than half found a job in the "
                    f"period), n = {self._n(curve.n)}"
                )
            else:
                high = (
                    "not reached"
                    if not np.isfinite(curve.median_high)
                    else (f"{curve.median_high:.1f}")
                )
                lines.append(
                    f"{curve.group}: median {curve.median:.1f} months (95% CI "
                    f"{curve.median_low:.1f} to {high}), n = {self._n(curve.n)}"
                )
        return lines

    def survival_frame(self) -> pd.DataFrame:
        """Kaplan–Meier curves for the chart (numbers at risk rounded for reviewers)."""
        result = self.time_to_job.value
        if result is None:
            return pd.DataFrame()
        frame = result.to_frame()
        if self.policy is not None:
            small = {c.group for c in result.curves if c.n <= self.policy.max_n_hiding_average}
            frame = frame[~frame["group"].isin(small)].copy()
            frame["at_risk"] = self.policy.round_count(frame["at_risk"].to_numpy(float))
        return frame

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
            f"n = {self._n(result.n_treated)} holders, {self._n(result.n_control)} "
            "non-completers)."
        )


def _section(compute: Any, *args: Any, **kwargs: Any) -> Section[Any]:
    try:
        return Section(compute(*args, **kwargs))
    except OutcomesError as exc:
        return Section(None, str(exc))


def _trend(
    session: Session,
    settings: Settings,
    programme: str,
    wave: int,
    policy: DisclosurePolicy | None,
) -> pd.DataFrame:
    frame = queries.analysis_frame(
        session=session, wave_months=wave, programme_codes=[programme], treated=True
    )
    prepared = prepare_comparison_frame(
        frame, outcome="employed_full_time", fulltime_hours=settings.fulltime_hours
    )
    table = rate_by_cohort(prepared, "employed_full_time", "cohort").to_frame()
    if table.empty:
        raise NotFound(f"No holder of {programme} has a known activity at {wave} months yet.")
    if policy is None:
        return table
    return suppress_small_cells(
        table,
        policy,
        counts=("n", "successes"),
        rates=dict.fromkeys(("rate", "ci_low", "ci_high"), ("successes", "n")),
    ).published


def _time_to_job(session: Session, programme: str, wave: int) -> KaplanMeierResult:
    frame = queries.analysis_frame(session=session, wave_months=wave, programme_codes=[programme])
    known = frame[frame["months_to_first_job"].notna()].copy()
    known["duration"] = known["months_to_first_job"].astype("float64")
    censored = known["job_search_censored"].fillna(False).astype(bool)
    known["event"] = (~censored).astype(int)
    known["group"] = np.where(known["treated"], "holders", "non-completers")
    return kaplan_meier(known, "duration", "event", "group")


def _nonresponse(
    session: Session,
    settings: Settings,
    wave: int,
    scope: set[int] | None,
    policy: DisclosurePolicy | None,
) -> NonResponseView:
    report = nonresponse_report(session, settings, wave_months=wave, programme_ids=scope)
    raking = report.raking
    summary = (
        f"{report.attrition.n_respondents} respondents and "
        f"{report.attrition.n_non_respondents} non-respondents. Respondents were raked to the "
        f"invited population's {', '.join(report.margins)}: design effect "
        f"{raking.design_effect:.3f}, effective n {raking.effective_n:.0f}."
    )
    rates = report.rates
    if policy is not None:
        rates = suppress_small_cells(
            rates,
            policy,
            counts=("n", "successes", "effective_n"),
            rates={
                column: "n"
                for column in (
                    "unweighted",
                    "unweighted_low",
                    "unweighted_high",
                    "weighted",
                    "weighted_low",
                    "weighted_high",
                )
            },
        ).published
        summary = (
            f"Respondents were raked to the invited population's {', '.join(report.margins)}; "
            f"design effect {raking.design_effect:.3f}."
        )
    return NonResponseView(summary, report.attrition.to_frame(), rates)


def _pairs(
    session: Session,
    settings: Settings,
    wave: int,
    scope: set[int] | None,
    policy: DisclosurePolicy | None,
) -> pd.DataFrame:
    table = programme_differences(
        session, settings, wave_months=wave, programme_ids=scope
    ).to_frame()
    if policy is not None:
        rate_columns = ("rate_first", "rate_second", "difference", "ci_low", "ci_high")
        table["smaller_n"] = table[["n_first", "n_second"]].min(axis=1)
        table = suppress_small_cells(
            table,
            policy,
            counts=("n_first", "n_second", "smaller_n"),
            rates=dict.fromkeys(rate_columns, "smaller_n"),
        ).published
    return table


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
    """Compute the dashboard for a viewer: their programmes, one wave, one programme."""
    scope = viewer_scope(session, role, user_id)
    codes = queries.programme_codes(session=session, scope=scope)
    chosen = programme if programme in codes else (codes[0] if codes else None)
    suppressed = role == "reviewer"
    statement = None
    try:
        panel = metrics_from_database(
            session,
            settings,
            group_by=("programme",),
            wave_months=wave_months,
            programme_ids=scope,
        )
        if suppressed:
            published = publishable_metrics(panel, DisclosurePolicy.from_settings(settings))
            table, statement = published.published, published.statement()
        else:
            table = panel.to_frame()
        metrics: Section[pd.DataFrame] = Section(table)
    except OutcomesError as exc:
        metrics = Section(None, str(exc))
    if chosen is None:
        none = "No programme is visible to you."
        return Dashboard(
            wave_months,
            None,
            codes,
            suppressed,
            metrics,
            statement,
            Section(None, none),
            Section(None, none),
            Section(None, none),
            Section(None, none),
            Section(None, none),
        )
    comparison: Section[ComparisonResult] = _section(
        comparison_from_database,
        session,
        settings,
        programme=chosen,
        wave_months=wave_months,
        outcome=outcome,
        method=method,
    )
    policy = DisclosurePolicy.from_settings(settings) if suppressed else None
    trend: Section[pd.DataFrame] = _section(_trend, session, settings, chosen, wave_months, policy)
    survival: Section[KaplanMeierResult] = _section(_time_to_job, session, chosen, wave_months)
    nonresponse: Section[NonResponseView] = _section(
        _nonresponse, session, settings, wave_months, scope, policy
    )
    pairs: Section[pd.DataFrame] = _section(_pairs, session, settings, wave_months, scope, policy)
    return Dashboard(
        wave_months,
        chosen,
        codes,
        suppressed,
        metrics,
        statement,
        comparison,
        trend,
        survival,
        nonresponse,
        pairs,
        outcome_label=OUTCOMES.get(outcome, outcome).split(" (")[0],
        policy=policy,
        response_rate_target=settings.response_rate_target,
    )
