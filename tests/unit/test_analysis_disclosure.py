"""Disclosure control: HESA rounding and thresholds, and that nothing withheld can be recovered."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.analysis.disclosure import DisclosurePolicy, suppress_small_cells
from outcomes.analysis.metrics import metrics_panel
from outcomes.config import Settings


def with_margins(cells: np.ndarray) -> pd.DataFrame:
    columns = [f"c{j}" for j in range(cells.shape[1])]
    table = pd.DataFrame(cells, index=[f"r{i}" for i in range(cells.shape[0])], columns=columns)
    table["total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum()
    return table


def equations(table: pd.DataFrame) -> list[list[tuple[str, str, int]]]:
    """Every margin relation of the table: interior cells of a line minus its total equal zero."""
    rows = [r for r in table.index if r != "Total"]
    cols = [c for c in table.columns if c != "total"]
    eqs = [[(r, c, 1) for c in cols] + [(r, "total", -1)] for r in table.index]
    eqs += [[(r, c, 1) for r in rows] + [("Total", c, -1)] for c in table.columns]
    return eqs


def recoverable_by_subtraction(table: pd.DataFrame, withheld: pd.DataFrame) -> list[tuple]:
    """Withheld cells an attacker gets by subtracting published cells from a published total."""
    found = []
    for eq in equations(table):
        hidden = [(r, c) for r, c, _ in eq if withheld.loc[r, c]]
        if len(hidden) == 1:
            found.append(hidden[0])
    return found


def recoverable_by_linear_algebra(table: pd.DataFrame, withheld: pd.DataFrame) -> list[tuple]:
    """Withheld cells fixed by any combination of margin equations (rank test, not SVD)."""
    unknown = [(r, c) for r in table.index for c in table.columns if withheld.loc[r, c]]
    if not unknown:
        return []
    index = {cell: i for i, cell in enumerate(unknown)}
    matrix = np.zeros((len(equations(table)), len(unknown)))
    for k, eq in enumerate(equations(table)):
        for r, c, sign in eq:
            if (r, c) in index:
                matrix[k, index[(r, c)]] = sign
    rank = np.linalg.matrix_rank(matrix)
    found = []
    for cell, i in index.items():
        unit = np.zeros(len(unknown))
        unit[i] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.append(cell)
    return found


def test_hesa_rounding_sends_0_to_2_to_zero_and_others_to_nearest_five():
    rounded = DisclosurePolicy().round_count(np.arange(0, 13))
    assert list(rounded) == [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10]


def test_policy_comes_from_settings():
    policy = DisclosurePolicy.from_settings(
        Settings(rounding_base=10, min_base_for_percent=50, max_n_hiding_average=9)
    )
    assert (policy.rounding_base, policy.min_base_for_percent, policy.max_n_hiding_average) == (
        10, 50, 9,
    )  # fmt: skip
    assert policy.count_threshold == 10
    assert "50" in policy.statement() and "9 people" in policy.statement()


def test_the_statement_names_the_withheld_counts_even_when_only_ones_are_withheld():
    assert "Counts from 1 to 1 are withheld." in DisclosurePolicy(min_count=2).statement()
    assert "Counts from 1 to 4 are withheld." in DisclosurePolicy().statement()
    assert "are withheld." not in DisclosurePolicy(min_count=1).statement()


def test_worked_example_withholds_primary_and_secondary_cells():
    table = with_margins(np.array([[30, 12, 9], [3, 8, 15], [40, 2, 20]]))
    result = suppress_small_cells(
        table,
        DisclosurePolicy(),
        counts=list(table.columns),
        total_column="total",
        total_row="Total",
    )
    assert result.primary.loc["r1", "c0"] and result.primary.loc["r2", "c1"]
    assert result.secondary.to_numpy().sum() >= 2
    assert recoverable_by_subtraction(table, result.withheld) == []
    assert recoverable_by_linear_algebra(table, result.withheld) == []
    assert result.published.loc["Total", "total"] == 140
    assert result.published["c0"].isna().sum() == result.withheld["c0"].sum()
    assert "withheld" in result.statement()


def test_a_cell_only_a_combination_of_rows_and_columns_pins_down_is_withheld_too():
    # After the row-and-column pass every row and column hides two or more cells, yet the
    # margins together still give r3/c0 unless c0 of r0 is withheld as well.
    table = with_margins(np.array([[9, 6, 6, 30], [2, 20, 9, 0], [3, 20, 6, 0], [12, 12, 20, 1]]))
    result = suppress_small_cells(
        table, DisclosurePolicy(), counts=list(table.columns), total_column="total",
        total_row="Total",
    )  # fmt: skip
    assert result.secondary.loc["r0", "c0"]
    assert recoverable_by_linear_algebra(table, result.withheld) == []


def test_rates_need_a_base_of_22_5_and_averages_more_than_7():
    table = pd.DataFrame(
        {"base": [22, 23, 8, 7], "rate": [0.5, 0.5, 0.5, 0.5], "n": [22, 23, 8, 7],
         "median": [30_000.0] * 4}
    )  # fmt: skip
    result = suppress_small_cells(
        table, DisclosurePolicy(), counts=["base", "n"], rates={"rate": "base"},
        averages={"median": "n"},
    )  # fmt: skip
    assert list(result.published["rate"].isna()) == [True, False, True, True]
    assert list(result.published["median"].isna()) == [False, False, False, True]
    assert list(result.published["base"]) == [20, 25, 10, 5]


def test_rate_is_withheld_when_its_numerator_is():
    table = pd.DataFrame({"employed": [3, 40], "base": [30, 60], "rate": [0.1, 2 / 3]})
    result = suppress_small_cells(
        table, DisclosurePolicy(), counts=["employed", "base"], rates={"rate": ("employed", "base")}
    )
    assert result.status.loc[0, "rate"] == "secondary"
    assert result.published["rate"].isna().tolist() == [True, False]


def test_metrics_panel_frame_goes_through_the_same_function():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "programme": ["big"] * 200 + ["small"] * 6,
            "invited": True,
            "responded": rng.random(206) < 0.7,
            "partial": False,
            "known": True,
            "activity": "employed_full_time",
            "hours_per_week": 40.0,
            "salary_annual": rng.normal(40_000, 5_000, 206),
            "salary_excluded": False,
            "satisfaction": 4, "nps": 9, "job_related": 4,
            "voice_meaningful": 4, "voice_future": 4, "voice_skills": 4,
        }
    )  # fmt: skip
    tidy = metrics_panel(frame, ["programme"]).to_frame()
    values = ["estimate", "ci_low", "ci_high"]
    result = suppress_small_cells(
        tidy, DisclosurePolicy(), counts=["numerator", "denominator", "n"],
        rates=dict.fromkeys(values, "denominator"), averages=dict.fromkeys(values, "n"),
    )  # fmt: skip
    small = result.published[tidy["programme"] == "small"]
    big = result.published[tidy["programme"] == "big"]
    assert small["estimate"].isna().all()
    assert big["estimate"].notna().all()
    assert (big["denominator"].dropna() % 5 == 0).all()


cells = st.integers(min_value=2, max_value=6).flatmap(
    lambda rows: st.integers(min_value=2, max_value=6).flatmap(
        lambda cols: st.lists(
            st.one_of(st.integers(0, 12), st.integers(0, 200)),
            min_size=rows * cols,
            max_size=rows * cols,
        ).map(lambda values: np.array(values).reshape(rows, cols))
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=cells, threshold=st.sampled_from([3, 5, 10]))
def test_no_small_count_survives_and_nothing_withheld_can_be_recovered(cells, threshold):
    table = with_margins(cells)
    policy = DisclosurePolicy(min_count=threshold)
    result = suppress_small_cells(
        table, policy, counts=list(table.columns), total_column="total", total_row="Total"
    )
    small = (table > 0) & (table < threshold)
    assert not (small & ~result.withheld).to_numpy().any()
    assert recoverable_by_subtraction(table, result.withheld) == []
    assert recoverable_by_linear_algebra(table, result.withheld) == []
    shown = result.published.to_numpy(dtype="float64", na_value=np.nan)
    assert np.all(np.isnan(shown) | (shown % 5 == 0))
    assert not (result.primary & result.secondary).to_numpy().any()


@given(cells=cells)
@settings(max_examples=100, deadline=None)
def test_row_totals_only_still_protect_every_row(cells):
    table = pd.DataFrame(cells, columns=[f"c{j}" for j in range(cells.shape[1])])
    table["total"] = table.sum(axis=1)
    result = suppress_small_cells(table, DisclosurePolicy(min_count=10), counts=list(table.columns),
                                  total_column="total")  # fmt: skip
    for _, row in result.withheld.iterrows():
        assert row.sum() != 1


def test_checker_detects_recovery_when_secondary_suppression_is_skipped():
    # Guards the checkers themselves: primary suppression alone leaks through the totals.
    table = with_margins(np.array([[30, 12, 9], [3, 8, 15], [40, 2, 20]]))
    primary_only = suppress_small_cells(table, DisclosurePolicy(), counts=list(table.columns))
    assert recoverable_by_subtraction(table, primary_only.withheld)
    assert recoverable_by_linear_algebra(table, primary_only.withheld)


@pytest.mark.parametrize("threshold", [1, 0])
def test_threshold_of_one_only_rounds(threshold):
    table = with_margins(np.array([[1, 2], [3, 40]]))
    result = suppress_small_cells(
        table, DisclosurePolicy(min_count=threshold), counts=list(table.columns),
        total_column="total", total_row="Total",
    )  # fmt: skip
    assert not result.withheld.to_numpy().any()
    assert result.published.loc["r0", "c0"] == 0
