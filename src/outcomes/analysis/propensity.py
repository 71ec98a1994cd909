"""Covariate design matrices and the propensity-score model behind adjusted comparisons.

Pure functions over arrays: they expand baseline covariates (one-hot for categories,
standardised numbers), fit the logistic propensity model, and refuse in one plain sentence
when the data cannot support it (missing values, constant or collinear covariates,
perfect separation).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.typing import NDArray
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from outcomes.errors import AnalysisRefused, literal

FloatArray = NDArray[np.float64]

# Fitted probabilities this close to 0 or 1 mean the logit coefficients diverged: quasi-complete
# separation, which statsmodels does not always report (it only checks complete separation).
SEPARATION_TOLERANCE = 1e-8


@dataclass(frozen=True)
class CovariateDesign:
    """Expanded baseline covariates.

    Attributes
    ----------
    names : tuple of str
        One name per expanded column: the column itself for numbers, ``"column=level"`` for
        each non-reference level of a category (the first level is the reference).
    raw : ndarray, shape (n, k)
        Expanded covariates on their original scale (dummies are 0/1); used for balance.
    design : ndarray, shape (n, k + 1)
        An intercept followed by the standardised expanded covariates; used for model fits.
    """

    names: tuple[str, ...]
    raw: FloatArray
    design: FloatArray

    def subset(self, keep: NDArray[np.bool_]) -> CovariateDesign:
        """Rows of the design where ``keep`` is true (after trimming)."""
        return CovariateDesign(self.names, self.raw[keep], self.design[keep])


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def build_design(frame: pd.DataFrame, covariates: Sequence[str]) -> CovariateDesign:
    """Expand and standardise baseline covariates, refusing on missing or constant values.

    Parameters
    ----------
    frame : DataFrame
        One row per graduate.
    covariates : sequence of str
        Baseline (pre-credential) columns. Non-numeric columns are one-hot encoded with the
        first level (in sorted order) dropped; numeric and boolean columns are standardised
        to mean 0, SD 1 so that earnings next to 0/1 dummies keep the information matrix
        well conditioned.

    Returns
    -------
    CovariateDesign

    Raises
    ------
    AnalysisRefused
        If a covariate is missing from the frame, has missing values, has one value only, or
        the expanded covariates are collinear.
    """
    names: list[str] = []
    columns: list[FloatArray] = []
    for column in covariates:
        if column not in frame.columns:
            raise AnalysisRefused(f"The covariate column '{column}' is not in the data.")
        series = frame[column]
        n_missing = int(series.isna().sum())
        if n_missing:
            raise AnalysisRefused(
                f"The covariate '{literal(column)}' is missing for {{n_missing}} of {{n_rows}} "
                "rows; fill or exclude them explicitly before comparing.",
                n_missing=n_missing,
                n_rows=len(series),
            )
        if _is_categorical(series):
            # factorize once (sorted levels) instead of comparing strings per level: this is
            # the hot path of a million-row comparison.
            plain_text = pd.api.types.is_string_dtype(series) and not isinstance(
                series.dtype, pd.CategoricalDtype
            )
            text = series if plain_text else series.astype(str)
            codes, levels = pd.factorize(text, sort=True)
            if len(levels) < 2:
                raise _constant(column)
            for position, level in enumerate(levels[1:], start=1):
                names.append(f"{column}={level}")
                columns.append((codes == position).astype(np.float64))
        else:
            values = series.to_numpy(dtype=np.float64, copy=True)
            if values.min() == values.max():  # no missing values here: constant (O(n), no hash)
                raise _constant(column)
            names.append(column)
            columns.append(values)
    n = len(frame)
    raw = np.column_stack(columns) if columns else np.empty((n, 0))
    design = np.column_stack([np.ones(n), _standardise(raw, names)])
    return CovariateDesign(tuple(names), raw, design)


def _constant(column: str) -> AnalysisRefused:
    return AnalysisRefused(
        f"The covariate '{column}' has the same value for every row, so it cannot be adjusted for."
    )


def _full_rank(x: FloatArray) -> bool:
    """True when the columns of ``x`` are linearly independent (via the k × k cross-product)."""
    return bool(np.linalg.matrix_rank(x.T @ x) == x.shape[1])


def _standardise(raw: FloatArray, names: Sequence[str]) -> FloatArray:
    if raw.shape[1] == 0:
        return raw
    sd = raw.std(axis=0)
    constant = [name for name, s in zip(names, sd, strict=True) if s == 0]
    if constant:
        raise AnalysisRefused(
            f"The covariate '{constant[0]}' has the same value for every row, so it cannot "
            "be adjusted for."
        )
    scaled = (raw - raw.mean(axis=0)) / sd
    if not _full_rank(scaled):
        raise AnalysisRefused(
            "Some covariates are exact combinations of others (collinear); remove the "
            "redundant ones: " + ", ".join(names) + "."
        )
    return scaled


def check_constant_columns(design: CovariateDesign, context: str) -> None:
    """Refuse if an expanded covariate became constant (for example after trimming)."""
    sd = design.raw.std(axis=0)
    for name, s in zip(design.names, sd, strict=True):
        if s == 0:
            raise AnalysisRefused(
                f"The covariate '{name}' has the same value for every row {context}, so it "
                "cannot be adjusted for."
            )


def _separating_covariates(design: CovariateDesign, treated: NDArray[np.bool_]) -> list[str]:
    """Dummies whose '1' rows are all holders or all non-holders (a named cause to report)."""
    found = []
    for j, name in enumerate(design.names):
        column = design.raw[:, j]
        if not np.isin(column, (0.0, 1.0)).all():
            continue
        ones = column == 1.0
        if ones.any() and (treated[ones].all() or not treated[ones].any()):
            found.append(name)
    return found


def _refuse_separation(design: CovariateDesign, treated: NDArray[np.bool_]) -> AnalysisRefused:
    culprits = _separating_covariates(design, treated)
    cause = f" (look at {', '.join(culprits)})" if culprits else ""
    return AnalysisRefused(
        "The covariates predict exactly who earned the credential (perfect separation)"
        f"{cause}, so some graduates have no comparable counterpart in the other group."
    )


def fit_propensity(design: CovariateDesign, treated: NDArray[np.bool_]) -> FloatArray:
    """Fit the logistic propensity model and return each row's probability of treatment.

    Parameters
    ----------
    design : CovariateDesign
        Standardised covariates with an intercept.
    treated : ndarray of bool
        Whether each row earned the credential.

    Returns
    -------
    ndarray
        Fitted propensity scores e(x) = P(treated | x).

    Raises
    ------
    AnalysisRefused
        On perfect or quasi-complete separation (statsmodels' PerfectSeparation error or
        warning, a failure to converge, or fitted probabilities at 0 or 1).

    Notes
    -----
    Logistic regression by Newton–Raphson with ``statsmodels.api.Logit``.
    """
    endog = treated.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow while diverging
        try:
            # The design's rank was checked once in build_design; statsmodels' own check is a
            # QR of the whole n x k matrix on every fit, a fifth of the time at 10^6 rows.
            result = sm.Logit(endog, design.design, check_rank=False).fit(disp=0, maxiter=50)
        except (
            PerfectSeparationError,
            PerfectSeparationWarning,
            ConvergenceWarning,
            np.linalg.LinAlgError,
        ) as error:
            raise _refuse_separation(design, treated) from error
    probability = np.asarray(result.predict(design.design), dtype=np.float64)
    if (
        not np.isfinite(probability).all()
        or ((probability < SEPARATION_TOLERANCE) | (probability > 1 - SEPARATION_TOLERANCE)).any()
    ):
        raise _refuse_separation(design, treated)
    return probability


@dataclass(frozen=True)
class GlmInfluence:
    """Per-row influence functions of a GLM's coefficients, kept factored.

    The (n, k) matrix is ``residual[:, None] * design @ inverse_information``. Every use
    multiplies it by a k-vector (``influence @ v``), which this does in O(nk) without
    building the matrix: at a million rows that matrix is 120 MB, and making it was a
    sixth of an AIPW comparison's time.
    """

    design: FloatArray
    residual: FloatArray
    inverse_information: FloatArray

    def __matmul__(self, vector: FloatArray) -> FloatArray:
        """``IF @ vector``, one value per row."""
        return np.asarray(
            self.residual * (self.design @ (self.inverse_information @ vector)), dtype=np.float64
        )

    def dense(self) -> FloatArray:
        """The (n, k) matrix itself."""
        return np.asarray(
            (self.design * self.residual[:, None]) @ self.inverse_information, dtype=np.float64
        )


def glm_influence(
    design: FloatArray,
    endog: FloatArray,
    fitted: FloatArray,
    variance: FloatArray,
    rows: NDArray[np.bool_] | None = None,
) -> GlmInfluence:
    """Per-row influence functions of a canonical-link GLM's coefficients, shape (n, k).

    ``IF_i = M^{-1} x_i (y_i - mu_i)`` for rows in the fit (zero elsewhere), with
    ``M = (1/n) sum_fit var_i x_i x_i'``; ``var`` is 1 for OLS and ``p(1-p)`` for logit.
    These are the M-estimation sandwich pieces (Stefanski & Boos 2002, *The calculus of
    M-estimation*); ``n`` counts every row so that the influence functions of models fitted
    on subgroups can be stacked with whole-sample ones.
    """
    n = design.shape[0]
    in_fit = np.ones(n, dtype=bool) if rows is None else rows
    weight = np.where(in_fit, variance, 0.0)
    residual = np.where(in_fit, endog - fitted, 0.0)
    information = (design * weight[:, None]).T @ design / n
    return GlmInfluence(design, residual, np.linalg.inv(information))


@dataclass(frozen=True)
class OutcomeModel:
    """An outcome regression fitted in one group and predicted for every row.

    Attributes
    ----------
    prediction : ndarray
        Predicted outcome ``m(x)`` for every row (a probability for logit).
    slope : ndarray
        ``dm/d(linear predictor)``: 1 for OLS, ``m(1-m)`` for logit.
    influence : GlmInfluence
        Influence functions of the coefficients (zero for rows outside the fit).
    """

    prediction: FloatArray
    slope: FloatArray
    influence: GlmInfluence
    linear_fallback: bool = False


def fit_outcome_model(
    design: FloatArray,
    outcome: FloatArray,
    rows: NDArray[np.bool_],
    binary: bool,
    group_label: str,
) -> OutcomeModel:
    """Fit OLS (continuous) or logit (binary) on ``rows`` and predict for all rows.

    When the logit cannot be fitted because the covariates predict a binary outcome
    perfectly within the group, a linear probability model (OLS) is fitted instead and the
    result says so (``linear_fallback``): augmented IPW stays consistent whenever the
    propensity model is right, so a cruder outcome model costs efficiency, not validity.
    """
    x, y = design[rows], outcome[rows]
    linear = False
    if binary:
        try:
            params = _fit_logit(x, y, group_label)
        except AnalysisRefused:
            linear = True
    if not binary or linear:
        params = sm.OLS(y, x).fit(method="qr").params
        prediction = design @ params
        slope = np.ones(len(outcome))
    else:
        prediction = 1.0 / (1.0 + np.exp(-(design @ params)))
        slope = prediction * (1 - prediction)
    influence = glm_influence(design, outcome, prediction, slope, rows)
    return OutcomeModel(prediction, slope, influence, linear_fallback=linear)


def _fit_logit(x: FloatArray, y: FloatArray, group_label: str) -> FloatArray:
    """Logit coefficients, or ``AnalysisRefused`` when the outcome is perfectly predicted."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            if not _full_rank(x):
                raise np.linalg.LinAlgError("singular design within the group")
            params = sm.Logit(y, x, check_rank=False).fit(disp=0, maxiter=50).params
        except (
            PerfectSeparationError,
            PerfectSeparationWarning,
            ConvergenceWarning,
            np.linalg.LinAlgError,
        ) as error:
            raise AnalysisRefused(
                f"Among {group_label} the covariates predict the outcome perfectly, so the "
                "outcome model cannot be fitted."
            ) from error
    return np.asarray(params, dtype=np.float64)
