"""``outcomes analyze``: the impact engine on the database or on any CSV file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outcomes.cli.common import open_database
from outcomes.errors import ValidationProblem

if TYPE_CHECKING:  # pandas is imported by the commands that use it: `outcomes --help` stays fast
    import pandas as pd

app = typer.Typer(
    help="Impact analysis: metrics with intervals and adjusted comparisons.",
    no_args_is_help=True,
    add_completion=False,
)

METHODS = ("aipw", "ipw", "regression", "naive")
# Columns of a metrics CSV: who was invited and answered, and the primary activity, are
# required; answers to the other questions may be absent.
METRICS_REQUIRED = ("invited", "responded", "partial", "known", "activity")
METRICS_OPTIONAL = (
    "hours_per_week",
    "salary_annual",
    "salary_excluded",
    "job_related",
    "satisfaction",
    "nps",
    "voice_meaningful",
    "voice_future",
    "voice_skills",
)
ESTIMANDS = ("att", "ate")


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ValidationProblem(f"The file {path} does not exist.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ValidationProblem(f"The file {path} is not a readable CSV file ({first}).") from None


def _require_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValidationProblem(
            f"The file {path} has no column {', '.join(repr(m) for m in missing)} "
            f"(it has {', '.join(map(str, frame.columns))})."
        )


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _print_comparison(result: Any, as_json: bool, outcome: str) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    label = "ATT (holders)" if result.estimand == "att" else "ATE (everyone compared)"
    typer.echo(f"Method: {result.method} — estimand: {label} — outcome: {outcome}")
    typer.echo(
        f"Estimate {result.estimate:.4f}  95% CI {result.ci_low:.4f} to {result.ci_high:.4f}  "
        f"p = {result.p_value:.4g}"
    )
    typer.echo(f"n holders {result.n_treated}, n comparison {result.n_control}")
    if result.balance:
        typer.echo("Balance (standardised mean differences; WWC: ≤0.05 fine, >0.25 not comparable)")
        for row in result.balance:
            values = row.to_dict()
            typer.echo(
                f"  {row.covariate:<40} before {values['smd_before']:+.3f}  "
                f"after {values['smd_after']:+.3f}  {values.get('flag', '')}"
            )
    if result.overlap is not None:
        typer.echo(f"Overlap: {json.dumps(result.overlap.to_dict())}")


@app.command("compare")
def compare(
    csv: Annotated[Path | None, typer.Option("--csv", help="Read rows from this CSV.")] = None,
    programme: Annotated[
        str | None, typer.Option(help="Programme code (reads the database).")
    ] = None,
    wave: Annotated[int | None, typer.Option(help="Months after award of the wave.")] = None,
    outcome: Annotated[
        str, typer.Option(help="Outcome column (CSV) or employed_full_time|employed|log_salary.")
    ] = "employed_full_time",
    treatment: Annotated[str, typer.Option(help="0/1 treatment column (CSV).")] = "treated",
    covariates: Annotated[
        str | None, typer.Option(help="Comma-separated baseline covariates.")
    ] = None,
    method: Annotated[str, typer.Option(help="aipw (default), ipw, regression or naive.")] = "aipw",
    estimand: Annotated[str, typer.Option(help="att (default) or ate.")] = "att",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare credential holders with a comparison group, adjusted for baseline covariates."""
    from outcomes.analysis.compare import compare_groups

    if method not in METHODS:
        raise ValidationProblem(f"Unknown method '{method}': use one of {', '.join(METHODS)}.")
    if estimand not in ESTIMANDS:
        raise ValidationProblem(f"Unknown estimand '{estimand}': use att or ate.")
    chosen = _split(covariates)
    if csv is not None:
        if programme is not None:
            raise ValidationProblem("Give either --csv or --programme, not both.")
        if method != "naive" and not chosen:
            raise ValidationProblem("--covariates is required for an adjusted comparison.")
        frame = _read_csv(csv)
        _require_columns(frame, [outcome, treatment, *chosen], csv)
        result = compare_groups(
            frame,
            outcome=outcome,
            treatment=treatment,
            covariates=chosen,
            method=method,  # type: ignore[arg-type]
            estimand=estimand,  # type: ignore[arg-type]
        )
    else:
        if programme is None or wave is None:
            raise ValidationProblem("Give --csv FILE, or --programme CODE with --wave MONTHS.")
        from outcomes.impact.service import DEFAULT_COVARIATES, comparison_from_database

        settings, scope = _database_session()
        with scope as session:
            result = comparison_from_database(
                session,
                settings,
                programme=programme,
                wave_months=wave,
                outcome=outcome,
                covariates=chosen or DEFAULT_COVARIATES,
                method=method,
                estimand=estimand,
            )
    _print_comparison(result, as_json, outcome)


@app.command("metrics")
def metrics(
    by: Annotated[str, typer.Option(help="Grouping: programme, cohort, wave_months, treated.")] = (
        "programme"
    ),
    wave: Annotated[int | None, typer.Option(help="Months after award (default 6).")] = 6,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Include non-completers (default: holders).")
    ] = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Compute from this CSV.")] = None,
    suppress: Annotated[
        bool, typer.Option("--suppress", help="Apply disclosure control, as for publication.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """The standard outcome metrics (domain.md section 4) with their intervals."""
    from outcomes.analysis.disclosure import DisclosurePolicy
    from outcomes.analysis.metrics import metrics_panel
    from outcomes.config import get_settings
    from outcomes.impact.service import metrics_from_database, publishable_metrics

    settings = get_settings()
    group_by = _split(by)
    if csv is not None:
        frame = _read_csv(csv)
        _require_columns(frame, [*group_by, *METRICS_REQUIRED], csv)
        absent = [column for column in METRICS_OPTIONAL if column not in frame.columns]
        for column in absent:
            frame[column] = float("nan")  # those metrics come out with n = 0, not invented
        if absent:
            typer.echo(f"Not in the file, so not measured: {', '.join(absent)}.", err=True)
        panel = metrics_panel(
            frame,
            group_by,
            fulltime_hours=settings.fulltime_hours,
            salary_top_quantile=settings.salary_top_quantile,
            salary_floor=settings.salary_floor,
        )
    else:
        from outcomes.store.aggregates import GROUPABLE

        unknown = [column for column in group_by if column not in GROUPABLE]
        if unknown:
            raise ValidationProblem(
                f"Cannot group by {', '.join(unknown)}: use {', '.join(GROUPABLE)}."
            )
        settings, scope = _database_session()
        with scope as session:
            panel = metrics_from_database(
                session,
                settings,
                group_by=group_by,
                wave_months=wave,
                treated=None if everyone else True,
            )
    if suppress:
        result = publishable_metrics(panel, DisclosurePolicy.from_settings(settings))
        table = result.published
        typer.echo(result.statement(), err=True)
    else:
        table = panel.to_frame().drop(columns=["definition"])
    _print_table(table, as_json)


def _database_session():  # type: ignore[no-untyped-def]
    from outcomes.config import get_settings
    from outcomes.store.engine import session_scope

    return get_settings(), session_scope(open_database())


def _print_table(table: pd.DataFrame, as_json: bool) -> None:
    import pandas as pd

    if as_json:
        records = [{k: _clean(v) for k, v in row.items()} for row in table.to_dict("records")]
        typer.echo(json.dumps(records, indent=1, default=str))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            typer.echo(table.to_string(index=False))


@app.command("nonresponse")
def nonresponse(
    wave: Annotated[int, typer.Option(help="Months after award of the wave.")] = 6,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Respondents vs non-respondents, and full-time rates unweighted beside raked."""
    from outcomes.impact.service import nonresponse_report

    settings, scope = _database_session()
    with scope as session:
        report = nonresponse_report(session, settings, wave_months=wave)
    raking = report.raking
    summary = {
        "respondents": report.attrition.n_respondents,
        "non_respondents": report.attrition.n_non_respondents,
        "margins": list(report.margins),
        "design_effect": raking.design_effect,
        "effective_n": raking.effective_n,
        "converged": raking.converged,
        "max_weight_ratio": raking.max_weight_ratio,
        "trimmed": raking.trimmed,
    }
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "summary": {k: _clean(v) for k, v in summary.items()},
                    "attrition": report.attrition.to_frame().to_dict("records"),
                    "rates": report.rates.to_dict("records"),
                },
                indent=1,
                default=_clean,
            )
        )
        return
    typer.echo(
        f"{summary['respondents']} respondents, {summary['non_respondents']} non-respondents; "
        f"raked to {', '.join(report.margins)}: design effect {raking.design_effect:.3f}, "
        f"effective n {raking.effective_n:.0f}, largest weight {raking.max_weight_ratio:.2f}× "
        "the mean."
    )
    typer.echo("\nRespondents vs non-respondents (standardised differences):")
    _print_table(report.attrition.to_frame(), False)
    typer.echo("\nFull-time employment of respondents, unweighted and weighted:")
    _print_table(report.rates, False)


@app.command("programmes")
def programmes(
    wave: Annotated[int, typer.Option(help="Months after award of the wave.")] = 6,
    correction: Annotated[
        str, typer.Option(help="holm (family-wise, default) or bh (false discovery rate).")
    ] = "holm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Every programme against every other on full-time employment, corrected for many tests."""
    from outcomes.impact.service import programme_differences

    settings, scope = _database_session()
    with scope as session:
        result = programme_differences(session, settings, wave_months=wave, correction=correction)
    if not as_json:
        typer.echo(f"Correction for multiple comparisons: {result.correction}.")
    _print_table(result.to_frame(), as_json)
