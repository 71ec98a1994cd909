"""Charts as functions: each takes an aggregated frame and returns an ``alt.Chart``.

Only aggregates reach a chart (Altair sends every row of its frame to the browser), so
no chart ever carries a learner's row. Tests check ``chart.to_dict()``, not pixels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# What Works Clearinghouse thresholds for standardised mean differences.
WWC_FINE = 0.05
WWC_LIMIT = 0.25


def rate_with_intervals(
    frame: pd.DataFrame,
    *,
    category: str,
    estimate: str = "estimate",
    low: str = "ci_low",
    high: str = "ci_high",
    title: str = "",
    as_percent: bool = True,
) -> alt.Chart:
    """Points with 95 % interval bars, one per category (e.g. programme)."""
    axis_format = ".0%" if as_percent else ",.0f"
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y(f"{category}:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip(f"{estimate}:Q", format=".1%" if as_percent else ",.0f"),
            alt.Tooltip(f"{low}:Q", format=".1%" if as_percent else ",.0f", title="95% CI low"),
            alt.Tooltip(f"{high}:Q", format=".1%" if as_percent else ",.0f", title="95% CI high"),
        ],
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(f"{low}:Q", title="estimate with 95% CI", axis=alt.Axis(format=axis_format)),
        x2=f"{high}:Q",
    )
    points = base.mark_point(filled=True, size=70).encode(x=f"{estimate}:Q")
    return alt.layer(bars, points)  # type: ignore[return-value]


def trend_by_cohort(
    frame: pd.DataFrame,
    *,
    cohort: str = "cohort",
    rate: str = "rate",
    low: str = "ci_low",
    high: str = "ci_high",
    title: str = "",
) -> alt.Chart:
    """A rate by award cohort, with its 95 % interval as a band."""
    base = alt.Chart(frame, title=title).encode(
        x=alt.X(f"{cohort}:O", title="award cohort"),
    )
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y(f"{low}:Q", title="rate", axis=alt.Axis(format=".0%")), y2=f"{high}:Q"
    )
    line = base.mark_line(point=True).encode(
        y=f"{rate}:Q",
        tooltip=[f"{cohort}:O", alt.Tooltip(f"{rate}:Q", format=".1%"), "n:Q"],
    )
    return alt.layer(band, line)  # type: ignore[return-value]


def time_to_first_job(frame: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Kaplan–Meier share in work by months since award, per group, with its interval band."""
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("time:Q", title="months since award"),
        color=alt.Color("group:N", title=None),
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y=alt.Y("employed_lower:Q", title="in work", axis=alt.Axis(format=".0%")),
        y2="employed_upper:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(
        y="employed:Q",
        tooltip=["group:N", "time:Q", alt.Tooltip("employed:Q", format=".1%"), "at_risk:Q"],
    )
    return alt.layer(band, line)  # type: ignore[return-value]


def covariate_balance(frame: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Standardised mean differences before and after adjustment, with the WWC limits."""
    long = frame.melt(
        id_vars=["covariate"],
        value_vars=["smd_before", "smd_after"],
        var_name="when",
        value_name="smd",
    )
    long["when"] = long["when"].map({"smd_before": "before", "smd_after": "after"})
    points = (
        alt.Chart(long, title=title)
        .mark_point(filled=True, size=60)
        .encode(
            x=alt.X("smd:Q", title="standardised mean difference"),
            y=alt.Y("covariate:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("when:N", title=None, sort=["before", "after"]),
            tooltip=["covariate:N", "when:N", alt.Tooltip("smd:Q", format="+.3f")],
        )
    )
    limits = pd.DataFrame({"x": [-WWC_LIMIT, -WWC_FINE, WWC_FINE, WWC_LIMIT]})
    rules = alt.Chart(limits).mark_rule(strokeDash=[4, 4], color="gray").encode(x="x:Q")
    return alt.layer(rules, points)  # type: ignore[return-value]
