"""Disclosure control for every published table: rounding, thresholds, secondary suppression.

One entry point, :func:`suppress_small_cells`, which every reviewer view and export calls.
Defaults follow HESA's rounding and suppression methodology (domain.md §6); the thresholds
come from Settings through :meth:`DisclosurePolicy.from_settings`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from outcomes.config import Settings

PRIMARY = "primary"
SECONDARY = "secondary"


@dataclass(frozen=True)
class DisclosurePolicy:
    """Thresholds of disclosure control (HESA defaults).

    ``min_count``: counts from 1 to ``min_count - 1`` are withheld rather than rounded, and
    protected against recovery from totals; ``None`` means "the rounding base" (so 1–4 with
    base 5, the counts HESA's rounding would show as 0 or 5). Use 10 for College Scorecard
    practice, 1 to only round.
    """

    rounding_base: int = 5
    min_base_for_percent: float = 22.5
    max_n_hiding_average: int = 7
    min_count: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, min_count: int | None = None) -> DisclosurePolicy:
        """Policy from Settings' rounding base, percentage base and average-hiding n."""
        return cls(
            rounding_base=settings.rounding_base,
            min_base_for_percent=settings.min_base_for_percent,
            max_n_hiding_average=settings.max_n_hiding_average,
            min_count=min_count,
        )

    @property
    def count_threshold(self) -> int:
        """Counts strictly below this (and above 0) are withheld."""
        return self.rounding_base if self.min_count is None else self.min_count

    def round_count(self, values: np.ndarray) -> np.ndarray:
        """Round to the nearest multiple of the base, halves up: with base 5, 0–2 → 0, 3–7 → 5."""
        base = self.rounding_base
        return np.floor(np.asarray(values, dtype=np.float64) / base + 0.5) * base

    def statement(self) -> str:
        """The thresholds in one paragraph, for the methodology section of an export."""
        low = self.rounding_base // 2
        parts = [
            f"Counts are rounded to the nearest multiple of {self.rounding_base} "
            f"(0 to {low} shown as 0; totals rounded separately, so they may not add up)."
        ]
        if self.count_threshold > 1:
            parts.append(f"Counts from 1 to {self.count_threshold - 1} are withheld.")
        parts.append(
            f"Percentages are withheld where their base is below {self.min_base_for_percent:g}; "
            f"means and medians where they rest on {self.max_n_hiding_average} people or fewer."
        )
        parts.append(
            "Where a table has totals, further cells are withheld so that no withheld number "
            "can be worked out by subtraction (secondary suppression)."
        )
        return " ".join(parts)


@dataclass(frozen=True)
class DisclosureResult:
    """A table ready to publish, what was withheld (primary or secondary) and the rules used."""

    published: pd.DataFrame
    status: pd.DataFrame
    policy: DisclosurePolicy

    @property
    def primary(self) -> pd.DataFrame:
        """Cells withheld because they broke a threshold themselves."""
        return self.status == PRIMARY

    @property
    def secondary(self) -> pd.DataFrame:
        """Cells withheld only so that a primary cell cannot be recovered."""
        return self.status == SECONDARY

    @property
    def withheld(self) -> pd.DataFrame:
        """Every withheld cell."""
        return self.status != ""

    def statement(self) -> str:
        """Thresholds applied and how many cells were withheld, for exports."""
        primary = int(self.primary.to_numpy().sum())
        secondary = int(self.secondary.to_numpy().sum())
        return (
            f"{self.policy.statement()} In this table {primary} cell(s) were withheld under "
            f"the thresholds and {secondary} more to protect them."
        )


def _grid_equations(
    n_rows: int, n_cols: int, has_total_row: bool, has_total_column: bool
) -> list[list[tuple[int, int, float]]]:
    """Margin equations over a grid whose last row/column are totals: Σ interior − total = 0."""
    interior_rows = n_rows - 1 if has_total_row else n_rows
    interior_cols = n_cols - 1 if has_total_column else n_cols
    equations = []
    if has_total_column:
        for r in range(n_rows):
            equations.append([(r, c, 1.0) for c in range(interior_cols)] + [(r, n_cols - 1, -1.0)])
    if has_total_row:
        for c in range(n_cols):
            equations.append([(r, c, 1.0) for r in range(interior_rows)] + [(n_rows - 1, c, -1.0)])
    return equations


def _determined_cells(
    withheld: np.ndarray, equations: list[list[tuple[int, int, float]]]
) -> list[tuple[int, int]]:
    """Withheld cells whose value follows linearly from the published ones and the margins."""
    unknown = [tuple(cell) for cell in np.argwhere(withheld)]
    if not unknown or not equations:
        return []
    position = {cell: i for i, cell in enumerate(unknown)}
    matrix = np.zeros((len(equations), len(unknown)))
    for row, equation in enumerate(equations):
        for r, c, sign in equation:
            if (r, c) in position:
                matrix[row, position[(r, c)]] = sign
    # A cell is determined iff every solution of the homogeneous system leaves it at zero,
    # i.e. its coordinate vanishes on the whole null space.
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:].T
    if null_space.shape[1] == 0:
        return [(int(r), int(c)) for r, c in unknown]
    norms = np.linalg.norm(null_space, axis=1)
    return [(int(unknown[i][0]), int(unknown[i][1])) for i in np.flatnonzero(norms < 1e-9)]


def _pick_partner(
    candidates: list[tuple[int, int]],
    values: np.ndarray,
    totals: set[tuple[int, int]],
) -> tuple[int, int]:
    """The next-smallest published cell: interior before totals, non-zero before zero."""
    return min(
        candidates,
        key=lambda cell: (cell in totals, values[cell] == 0, values[cell], cell),
    )


def _secondary_suppression(
    values: np.ndarray, withheld: np.ndarray, has_total_row: bool, has_total_column: bool
) -> np.ndarray:
    """Cells to withhold in addition, iterated to a fixed point over rows and columns."""
    n_rows, n_cols = values.shape
    equations = _grid_equations(n_rows, n_cols, has_total_row, has_total_column)
    totals = {(r, n_cols - 1) for r in range(n_rows)} if has_total_column else set()
    if has_total_row:
        totals |= {(n_rows - 1, c) for c in range(n_cols)}
    hidden = withheld.copy()
    while True:
        changed = False
        for equation in equations:
            cells = [(r, c) for r, c, _ in equation]
            if sum(hidden[cell] for cell in cells) == 1:
                published = [cell for cell in cells if not hidden[cell]]
                hidden[_pick_partner(published, values, totals)] = True
                changed = True
        if changed:
            continue
        # Subtraction along single rows and columns is now blocked; combinations of several
        # rows and columns can still pin a cell down (e.g. a cell bridging two blocks).
        determined = _determined_cells(hidden, equations)
        if not determined:
            return hidden & ~withheld
        r, c = determined[0]
        line = [(r, j) for j in range(n_cols) if not hidden[r, j]]
        line += [(i, c) for i in range(n_rows) if not hidden[i, c]]
        everything = [tuple(cell) for cell in np.argwhere(~hidden)]
        choice = line or [(int(i), int(j)) for i, j in everything]
        hidden[_pick_partner(choice, values, totals)] = True


def suppress_small_cells(
    table: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    counts: Sequence[str] = (),
    rates: Mapping[str, str | tuple[str, str]] | None = None,
    averages: Mapping[str, str] | None = None,
    total_column: str | None = None,
    total_row: Hashable | None = None,
) -> DisclosureResult:
    """Round counts, withhold small cells and protect them from recovery through totals.

    Parameters
    ----------
    table : DataFrame
        Any table: a cross-tabulation of counts with margins, or a tidy table of statistics
        (e.g. ``MetricsPanel.to_frame()``).
    policy : DisclosurePolicy
        Thresholds.
    counts : sequence of str
        Count columns: rounded to ``policy.rounding_base``; values from 1 to
        ``policy.count_threshold - 1`` withheld (primary).
    rates : mapping, optional
        Percentage/rate column (or its CI limits) → the column holding its base, or → a
        ``(numerator, base)`` pair. Withheld where the base is below
        ``policy.min_base_for_percent`` (primary), or where the numerator count was withheld
        (secondary, since rate × base would reveal it). Rows with no base are left alone.
    averages : mapping, optional
        Mean/median column (or its CI limits) → the column holding its n; withheld where
        ``n <= policy.max_n_hiding_average``. Rows with no n are left alone.
    total_column : str, optional
        The count column holding each row's total of the other count columns.
    total_row : hashable, optional
        Index label of the row holding each column's total.

    Returns
    -------
    DisclosureResult
        ``published`` (withheld cells are NA, counts rounded), ``status`` ("", "primary" or
        "secondary" per cell) and the policy.

    Notes
    -----
    HESA, "Rounding and suppression to anonymise statistics": counts rounded to the nearest 5
    (0, 1, 2 → 0), percentages not shown for bases below 22.5, averages not shown for n ≤ 7.
    Secondary suppression (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012,
    §4.4): whenever a row or column equation (interior cells and their total) has exactly one
    withheld cell, the next-smallest published cell of that line is withheld too, repeated to
    a fixed point; a final linear-algebra check withholds further cells until no withheld
    value is determined by the published values and the margin equations.
    """
    rates = dict(rates or {})
    averages = dict(averages or {})
    status = pd.DataFrame("", index=table.index, columns=table.columns, dtype=object)
    published = table.copy()

    count_columns = list(counts)
    if count_columns:
        raw = table[count_columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        small = (raw > 0) & (raw < policy.count_threshold)
        hidden = small.copy()
        if total_column is not None or total_row is not None:
            interior_cols = [c for c in count_columns if c != total_column]
            col_order = interior_cols + ([total_column] if total_column is not None else [])
            row_labels = [label for label in table.index if label != total_row]
            row_order = row_labels + ([total_row] if total_row is not None else [])
            rows = [table.index.get_loc(label) for label in row_order]
            cols = [count_columns.index(c) for c in col_order]
            grid_values = np.nan_to_num(raw[np.ix_(rows, cols)])
            extra = _secondary_suppression(
                grid_values, small[np.ix_(rows, cols)], total_row is not None,
                total_column is not None,
            )  # fmt: skip
            secondary = np.zeros_like(small)
            secondary[np.ix_(rows, cols)] = extra
            hidden |= secondary
            status.loc[:, count_columns] = np.where(secondary, SECONDARY, "")
        status.loc[:, count_columns] = np.where(
            small, PRIMARY, status.loc[:, count_columns].to_numpy()
        )
        rounded = policy.round_count(raw)
        for position, column in enumerate(count_columns):
            shown = np.where(
                hidden[:, position] | np.isnan(raw[:, position]), np.nan, rounded[:, position]
            )
            published[column] = pd.array(shown, dtype="Float64").astype("Int64")

    def withhold(column: str, mask: np.ndarray, reason: str) -> None:
        present = table[column].notna().to_numpy()
        mask = mask & present & (status[column].to_numpy() == "")
        status.loc[mask, column] = reason
        values = pd.to_numeric(published[column], errors="coerce").astype("Float64")
        published[column] = values.mask(status[column].to_numpy() != "")

    for column, spec in rates.items():
        numerator, base_column = spec if isinstance(spec, tuple) else (None, spec)
        base = pd.to_numeric(table[base_column], errors="coerce").to_numpy(np.float64)
        withhold(column, ~np.isnan(base) & (base < policy.min_base_for_percent), PRIMARY)
        if numerator is not None and numerator in status:
            withhold(column, status[numerator].to_numpy() != "", SECONDARY)
    for column, n_column in averages.items():
        n = pd.to_numeric(table[n_column], errors="coerce").to_numpy(np.float64)
        withhold(column, ~np.isnan(n) & (n <= policy.max_n_hiding_average), PRIMARY)
    return DisclosureResult(published, status, policy)
