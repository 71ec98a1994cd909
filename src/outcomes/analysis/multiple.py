"""Corrections for many comparisons (e.g. every programme against every other)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

Correction = Literal["holm", "fdr_bh"]
METHOD_NAMES: dict[str, str] = {
    "holm": "Holm step-down (family-wise error rate; Holm 1979)",
    "fdr_bh": "Benjamini–Hochberg (false discovery rate; Benjamini & Hochberg 1995)",
}


@dataclass(frozen=True)
class MultipleComparison:
    """Raw and adjusted p-values for a family of comparisons, naming the correction used."""

    labels: tuple[str, ...]
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    method: str
    alpha: float

    @property
    def method_name(self) -> str:
        """Readable name of the correction, for tables and exports."""
        return METHOD_NAMES[self.method]

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison: label, p_value, adjusted_p_value, significant, method."""
        return pd.DataFrame(
            {
                "comparison": list(self.labels),
                "p_value": list(self.p_values),
                "adjusted_p_value": list(self.adjusted),
                "significant": list(self.reject),
                "method": self.method_name,
            }
        )


def adjust_p_values(
    p_values: Mapping[str, float] | Sequence[float],
    method: Correction = "holm",
    alpha: float = 0.05,
) -> MultipleComparison:
    """Adjust a family of p-values with Holm (default) or Benjamini–Hochberg.

    Parameters
    ----------
    p_values : mapping or sequence
        Comparison label → p-value, or p-values in order (labelled "1", "2", …).
    method : {"holm", "fdr_bh"}
        Holm controls the family-wise error rate; Benjamini–Hochberg the false discovery rate.
    alpha : float
        Level at which ``reject`` is decided.

    Returns
    -------
    MultipleComparison

    Notes
    -----
    Computed by ``statsmodels.stats.multitest.multipletests`` with ``method=`` always passed
    explicitly (its default is Holm–Šidák, which is not what the reports name).
    """
    if method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {sorted(METHOD_NAMES)}, got {method!r}")
    if isinstance(p_values, Mapping):
        labels = tuple(str(k) for k in p_values)
        raw = np.asarray(list(p_values.values()), dtype=np.float64)
    else:
        raw = np.asarray(p_values, dtype=np.float64)
        labels = tuple(str(i + 1) for i in range(len(raw)))
    if len(raw) == 0:
        raise ValueError("no p-values to adjust")
    if np.isnan(raw).any() or (raw < 0).any() or (raw > 1).any():
        raise ValueError("p-values must lie between 0 and 1 and not be missing")
    reject, adjusted, _, _ = multipletests(raw, alpha=alpha, method=method)
    return MultipleComparison(
        labels=labels,
        p_values=tuple(float(p) for p in raw),
        adjusted=tuple(float(p) for p in adjusted),
        reject=tuple(bool(r) for r in reject),
        method=method,
        alpha=alpha,
    )
