"""Holders versus a comparison group: naive and covariate-adjusted treatment effects.

``compare_groups`` estimates the average treatment effect on the treated (ATT, the default:
"did the credential help those who earned it?") or the average treatment effect (ATE) by
difference in means, regression adjustment, inverse-probability weighting or augmented IPW
(doubly robust), with balance and overlap diagnostics.

Why the adjusted estimators are written here rather than called from statsmodels'
``TreatmentEffect``: (1) its AIPW has no ATT option; (2) its outcome models are OLS only (we
need logit for employment); (3) its GMM standard errors optimise with Nelder–Mead over every
parameter, far too slow for a million rows; (4) in statsmodels 0.15 ``ipw_ra`` and
``aipw_wls`` slice the propensity parameters as ``params[-6:]``, right only for six. So the
point estimates are closed-form and the standard errors come from stacked influence
functions (M-estimation sandwich, Stefanski & Boos 2002), which account for estimating the
propensity and outcome models exactly as ``TreatmentEffect``'s GMM does. The unit tests
check IPW (ATE, ATT), RA (ATE, ATT) and AIPW (ATE) against ``TreatmentEffect`` and the AIPW
ATT against a numerical sandwich of its estimating equations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from outcomes.analysis.balance import CovariateBalance, Overlap, balance_table, describe_overlap
from outcomes.analysis.propensity import (
    CovariateDesign,
    OutcomeModel,
    build_design,
    check_constant_columns,
    fit_outcome_model,
    fit_propensity,
    glm_influence,
)
from outcomes.errors import AnalysisRefused, literal

Method = Literal["naive", "regression", "ipw", "aipw"]
Estimand = Literal["att", "ate"]
OutcomeKind = Literal["binary", "continuous"]

METHODS: tuple[str, ...] = ("naive", "regression", "ipw", "aipw")
ESTIMANDS: tuple[str, ...] = ("att", "ate")
Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class ComparisonResult:
    """A treatment-effect estimate with its diagnostics.

    Attributes
    ----------
    method : str
        ``naive``, ``regression``, ``ipw`` or ``aipw``.
    estimand : str
        ``att`` (effect on holders) or ``ate`` (effect on everyone compared).
    outcome_kind : str
        ``binary`` (estimate is a difference in probabilities) or ``continuous`` (a
        difference on the outcome's own scale, e.g. log salary).
    estimate, std_error, ci_low, ci_high, p_value : float
        Effect, standard error, 95 % interval and two-sided p-value.
    n_treated, n_control : int
        Rows analysed per group (after dropping missing outcomes and trimming).
    n_missing_outcome : int
        Rows dropped because the outcome was missing (reported, never silent).
    balance : tuple of CovariateBalance
        Per expanded covariate. ``smd_after`` uses the method's weights for ``ipw``/``aipw``,
        the IPW weights of the same estimand for ``regression`` (how comparable reweighting
        makes the groups; the regression itself does not weight), and equals ``smd_before``
        for ``naive``.
    overlap : Overlap or None
        Propensity-score overlap; ``None`` for a naive comparison without covariates or
        whose propensity model could not be fitted.
    """

    method: str
    estimand: str
    outcome_kind: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_control: int
    n_missing_outcome: int
    balance: tuple[CovariateBalance, ...]
    overlap: Overlap | None
    notes: tuple[str, ...] = ()

    @property
    def confidence_interval(self) -> tuple[float, float]:
        """The 95 % confidence interval ``(low, high)``."""
        return (self.ci_low, self.ci_high)

    @property
    def worst_balance(self) -> str | None:
        """The weakest WWC flag across covariates after adjustment (``None`` if none)."""
        order = ("satisfies", "requires adjustment", "not comparable")
        flags = [row.flag for row in self.balance]
        return max(flags, key=order.index) if flags else None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable summary (``json.dumps`` works on it; non-finite become None)."""

        def clean(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {
            "method": self.method,
            "estimand": self.estimand,
            "outcome_kind": self.outcome_kind,
            "estimate": clean(self.estimate),
            "std_error": clean(self.std_error),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "p_value": clean(self.p_value),
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "n_missing_outcome": self.n_missing_outcome,
            "balance": {row.covariate: row.to_dict() for row in self.balance},
            "overlap": None if self.overlap is None else self.overlap.to_dict(),
            "notes": list(self.notes),
        }


def _treatment_indicator(series: pd.Series, name: str) -> NDArray[np.bool_]:
    n_missing = int(series.isna().sum())
    if n_missing:
        raise AnalysisRefused(
            f"The treatment column '{literal(name)}' is missing for {{n_missing}} rows; every "
            "row must be marked as holder (1) or comparison (0).",
            n_missing=n_missing,
        )
    values = set(pd.unique(series).tolist())
    if not values <= {0, 1}:  # True == 1 and False == 0
        shown = ", ".join(sorted(map(str, values))[:5])
        raise AnalysisRefused(
            f"The treatment column '{name}' must hold only 0/1 (or True/False) but has: {shown}."
        )
    return series.to_numpy(dtype=np.float64, copy=True) == 1.0


def _outcome_kind(values: NDArray[np.float64], kind: OutcomeKind | None) -> OutcomeKind:
    is_binary = bool(np.isin(values, (0.0, 1.0)).all())
    if kind is None:
        return "binary" if is_binary else "continuous"
    if kind == "binary" and not is_binary:
        raise AnalysisRefused("A binary outcome must hold only 0 and 1.")
    if kind not in ("binary", "continuous"):
        raise ValueError(f"kind must be 'binary', 'continuous' or None, not {kind!r}")
    return kind


def _check_group_sizes(treated: NDArray[np.bool_], min_group: int, context: str) -> None:
    n_treated, n_control = int(treated.sum()), int((~treated).sum())
    if min(n_treated, n_control) < min_group:
        where = f" {literal(context)}" if context else ""
        raise AnalysisRefused(
            f"Too few graduates to compare{where}: {{holders}} holders and {{comparison}} in "
            f"the comparison group (each group needs at least {min_group}).",
            holders=n_treated,
            comparison=n_control,
        )


def _naive_effect(
    y: NDArray[np.float64], treated: NDArray[np.bool_], kind: OutcomeKind
) -> tuple[float, float, float, float, float]:
    """Difference in means: Welch t for continuous; Newcombe CI and Wald z for binary."""
    y1, y0 = y[treated], y[~treated]
    if kind == "continuous":
        test = stats.ttest_ind(y1, y0, equal_var=False)
        interval = test.confidence_interval(0.95)
        se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
        diff = float(y1.mean() - y0.mean())
        return diff, se, float(interval.low), float(interval.high), float(test.pvalue)
    p1, p0 = float(y1.mean()), float(y0.mean())
    diff = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
    # Newcombe (1998) hybrid score interval, statsmodels' "newcomb" method.
    low, high = confint_proportions_2indep(
        y1.sum(), len(y1), y0.sum(), len(y0), method="newcomb", compare="diff"
    )
    # With se == 0 both groups are all 0 or all 1: no sampling variation is left.
    p_value = 2 * stats.norm.sf(abs(diff) / se) if se > 0 else float(diff == 0)
    return diff, se, float(low), float(high), float(p_value)


@dataclass(frozen=True)
class _EffectFit:
    estimate: float
    std_error: float
    weights: NDArray[np.float64]  # balancing weights of the estimand (for balance and ESS)
    notes: tuple[str, ...] = ()


def _ipw_weights(
    treated: NDArray[np.bool_], propensity: NDArray[np.float64], estimand: str
) -> NDArray[np.float64]:
    if estimand == "att":
        return np.where(treated, 1.0, propensity / (1 - propensity))
    return np.where(treated, 1 / propensity, 1 / (1 - propensity))


def _estimate_effect(
    method: str,
    estimand: str,
    kind: OutcomeKind,
    x: NDArray[np.float64],
    treated: NDArray[np.bool_],
    y: NDArray[np.float64],
    e: NDArray[np.float64],
) -> _EffectFit:
    """Closed-form estimate plus its influence function; SE = sqrt(sum IF^2) / n.

    Each estimator is an M-estimator stacked on the propensity logit (coefficients'
    influence ``if_ps``) and the per-group outcome models; the effect's influence function
    is ``(phi_i + dphi/dnuisance . IF_nuisance_i) / (-dphi/dtheta)`` (Stefanski & Boos 2002).
    """
    n = len(y)
    t = treated.astype(np.float64)
    p1 = t.mean()
    weights = _ipw_weights(treated, e, estimand)
    binary = kind == "binary"
    models: list[OutcomeModel] = []

    def mean_rows(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(values @ x / n, dtype=np.float64)

    if method == "regression":
        m1 = fit_outcome_model(x, y, treated, binary, "holders")
        m0 = fit_outcome_model(x, y, ~treated, binary, "the comparison group")
        models += [m1, m0]
        population = t / p1 if estimand == "att" else np.ones(n)
        gap = m1.prediction - m0.prediction
        estimate = float((population * gap).sum() / n)
        influence = (
            population * (gap - estimate)
            + m1.influence @ mean_rows(population * m1.slope)
            - m0.influence @ mean_rows(population * m0.slope)
        )
    else:
        if_ps = glm_influence(x, t, e, e * (1 - e))
        if method == "ipw":
            w1, w0 = t * weights, (1 - t) * weights
            mu1 = float((w1 * y).sum() / w1.sum())
            mu0 = float((w0 * y).sum() / w0.sum())
            # d w / d gamma: ATT -> holders' weight 1 (no derivative), controls' odds times x;
            # ATE -> -(1-e)/e x for holders, e/(1-e) x for controls.
            dw1 = np.zeros(n) if estimand == "att" else -t * (1 - e) / e
            dw0 = (1 - t) * e / (1 - e)
            if1 = (w1 * (y - mu1) + if_ps @ mean_rows(dw1 * (y - mu1))) / w1.mean()
            if0 = (w0 * (y - mu0) + if_ps @ mean_rows(dw0 * (y - mu0))) / w0.mean()
            estimate, influence = mu1 - mu0, if1 - if0
        elif estimand == "ate":
            m1 = fit_outcome_model(x, y, treated, binary, "holders")
            m0 = fit_outcome_model(x, y, ~treated, binary, "the comparison group")
            models += [m1, m0]
            r1, r0 = y - m1.prediction, y - m0.prediction
            phi1 = m1.prediction + t * r1 / e
            phi0 = m0.prediction + (1 - t) * r0 / (1 - e)
            mu1, mu0 = float(phi1.mean()), float(phi0.mean())
            if1 = (
                phi1
                - mu1
                + m1.influence @ mean_rows(m1.slope * (1 - t / e))
                + if_ps @ mean_rows(-t * r1 * (1 - e) / e)
            )
            if0 = (
                phi0
                - mu0
                + m0.influence @ mean_rows(m0.slope * (1 - (1 - t) / (1 - e)))
                + if_ps @ mean_rows((1 - t) * r0 * e / (1 - e))
            )
            estimate, influence = mu1 - mu0, if1 - if0
        else:  # doubly robust ATT (Moodie et al. 2018): only the control outcome model
            m0 = fit_outcome_model(x, y, ~treated, binary, "the comparison group")
            models.append(m0)
            r0 = y - m0.prediction
            odds = (1 - t) * weights
            a = float((t * r0).sum() / t.sum())
            b = float((odds * r0).sum() / odds.sum())
            if_a = (t * (r0 - a) + m0.influence @ mean_rows(-t * m0.slope)) / p1
            if_b = (
                odds * (r0 - b)
                + m0.influence @ mean_rows(-odds * m0.slope)
                + if_ps @ mean_rows(odds * (r0 - b))
            ) / odds.mean()
            estimate, influence = a - b, if_a - if_b
    std_error = float(np.sqrt((influence**2).sum()) / n)
    notes = (
        (
            "The covariates predicted the binary outcome perfectly within a group, so a linear "
            "probability outcome model was used there instead of a logit.",
        )
        if any(model.linear_fallback for model in models)
        else ()
    )
    return _EffectFit(float(estimate), std_error, weights, notes)


def _on_all_rows(weights: NDArray[np.float64], kept: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Weights of the kept rows, spread back over every row (0 for trimmed ones)."""
    full = np.zeros(len(kept))
    full[kept] = weights
    return full


def _trim_mask(
    propensity: NDArray[np.float64], trim: tuple[float, float] | None
) -> NDArray[np.bool_]:
    if trim is None:
        return np.ones(len(propensity), dtype=bool)
    low, high = trim
    if not 0 <= low < high <= 1:
        raise ValueError(f"trim must be (low, high) with 0 <= low < high <= 1, not {trim!r}")
    return (propensity >= low) & (propensity <= high)


def _check_ranges_intersect(propensity: NDArray[np.float64], treated: NDArray[np.bool_]) -> None:
    e_t, e_c = propensity[treated], propensity[~treated]
    if e_t.min() > e_c.max() or e_c.min() > e_t.max():
        raise AnalysisRefused(
            "Holders and the comparison group do not overlap at all in their propensity "
            f"scores (holders {e_t.min():.3f}–{e_t.max():.3f}, comparison "
            f"{e_c.min():.3f}–{e_c.max():.3f}), so no adjusted comparison is possible."
        )


def _naive_result(
    y: NDArray[np.float64],
    treated: NDArray[np.bool_],
    design: CovariateDesign,
    kind: OutcomeKind,
    estimand: str,
    n_missing: int,
) -> ComparisonResult:
    estimate, se, low, high, p_value = _naive_effect(y, treated, kind)
    overlap = None
    if design.names:
        try:
            propensity = fit_propensity(design, treated)
            overlap = describe_overlap(propensity, treated, None, np.ones(len(y), dtype=bool), None)
        except AnalysisRefused:
            overlap = None  # a descriptive difference needs no propensity model
    return ComparisonResult(
        "naive",
        estimand,
        kind,
        estimate,
        se,
        low,
        high,
        p_value,
        int(treated.sum()),
        int((~treated).sum()),
        n_missing,
        balance_table(design.names, design.raw, treated, None),
        overlap,
    )


def compare_groups(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    method: Method = "aipw",
    estimand: Estimand = "att",
    kind: OutcomeKind | None = None,
    trim: tuple[float, float] | None = (0.01, 0.99),
    min_group: int = 30,
) -> ComparisonResult:
    """Estimate the effect of holding the credential on an outcome, adjusted for covariates.

    Parameters
    ----------
    frame : DataFrame
        One row per graduate.
    outcome : str
        Outcome column: 0/1 (e.g. employed) or continuous (e.g. log salary).
    treatment : str
        0/1 column: 1 for holders, 0 for the comparison group.
    covariates : sequence of str
        Baseline (pre-credential) covariates; categories are one-hot encoded (first level
        dropped), numbers standardised internally. Required unless ``method="naive"``.
    method : {"aipw", "ipw", "regression", "naive"}
        ``aipw``: augmented IPW, doubly robust — for the ATT the estimator of Moodie, Saarela
        & Stephens (2018, *Stat Med* 37:2461) / Sant'Anna & Zhao (2020) cross-section form
        with normalised odds weights; for the ATE Robins, Rotnitzky & Zhao (1994) as in
        statsmodels' ``TreatmentEffect.aipw``. ``ipw``: logistic propensity, normalised
        (Hájek) weights — ATT: holders 1, comparison e/(1-e); ATE: 1/e and 1/(1-e).
        ``regression``: outcome model per group (logit for binary, OLS otherwise) predicting
        both potential outcomes over the estimand's population. ``naive``: difference in
        means (Welch t; for binary outcomes Newcombe's hybrid score interval).
    estimand : {"att", "ate"}
        Average effect on the treated (holders) or on everyone compared.
    kind : {"binary", "continuous"} or None
        Outcome type; ``None`` detects binary when every value is 0 or 1.
    trim : (float, float) or None
        Drop rows whose propensity score falls outside these bounds (adjusted methods only),
        then refit the propensity model on the rows kept. ``None`` keeps every row.
    min_group : int
        Smallest group size (after trimming) that an analysis accepts.

    Returns
    -------
    ComparisonResult
        Standard errors of adjusted methods are influence-function (sandwich) SEs that
        account for the estimated propensity and outcome models; intervals are Wald 95 %.

    Raises
    ------
    AnalysisRefused
        Non-binary or missing treatment, outcome missing for everyone, missing or constant
        covariates, a group smaller than ``min_group``, perfect separation, or no overlap.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {ESTIMANDS}, not {estimand!r}")
    for column in (outcome, treatment):
        if column not in frame.columns:
            raise AnalysisRefused(f"The column '{column}' is not in the data.")
    observed = frame[outcome].notna().to_numpy()
    if not observed.any():
        raise AnalysisRefused(f"The outcome '{outcome}' is missing for every graduate.")
    n_missing = int((~observed).sum())
    data = frame.loc[observed]
    if not (
        pd.api.types.is_numeric_dtype(data[outcome]) or pd.api.types.is_bool_dtype(data[outcome])
    ):
        raise AnalysisRefused(
            f"The outcome '{outcome}' is not numeric: code it as 0/1 (binary) or as a number "
            "(continuous) before comparing."
        )
    treated = _treatment_indicator(data[treatment], treatment)
    y = data[outcome].to_numpy(dtype=np.float64, copy=True)
    kind_used = _outcome_kind(y, kind)
    _check_group_sizes(treated, min_group, "")
    design = build_design(data, covariates)

    if method == "naive":
        return _naive_result(y, treated, design, kind_used, estimand, n_missing)
    if not design.names:
        raise AnalysisRefused(
            "An adjusted comparison needs at least one baseline covariate; use the naive "
            "method for an unadjusted difference."
        )

    propensity = fit_propensity(design, treated)
    _check_ranges_intersect(propensity, treated)
    kept = _trim_mask(propensity, trim)
    if not kept.any():
        raise AnalysisRefused("Every graduate falls outside the propensity-score trim bounds.")
    fit_design, fit_treated, fit_y, fit_propensity_scores = design, treated, y, propensity
    if not kept.all():
        fit_design, fit_treated, fit_y = design.subset(kept), treated[kept], y[kept]
        _check_group_sizes(fit_treated, min_group, "after trimming poorly overlapping rows")
        check_constant_columns(fit_design, "after trimming")
        fit_propensity_scores = fit_propensity(fit_design, fit_treated)

    fit = _estimate_effect(
        method,
        estimand,
        kind_used,
        fit_design.design,
        fit_treated,
        fit_y,
        fit_propensity_scores,
    )
    z = fit.estimate / fit.std_error if fit.std_error > 0 else math.nan
    return ComparisonResult(
        method,
        estimand,
        kind_used,
        fit.estimate,
        fit.std_error,
        fit.estimate - Z_95 * fit.std_error,
        fit.estimate + Z_95 * fit.std_error,
        float(2 * stats.norm.sf(abs(z))),
        int(fit_treated.sum()),
        int((~fit_treated).sum()),
        n_missing,
        # "Before" describes every compared graduate; trimmed rows weigh 0 "after".
        balance_table(design.names, design.raw, treated, _on_all_rows(fit.weights, kept)),
        describe_overlap(propensity, treated, trim, kept, fit.weights),
        fit.notes,
    )
