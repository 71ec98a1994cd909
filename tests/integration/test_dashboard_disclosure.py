"""What a reviewer reads on the impact dashboard never holds an exact small count.

A small demo institution (about a dozen graduates per programme) has small groups
everywhere, and its comparisons are refused because the groups are too small: the refusals,
sentences and table cells a reviewer is shown must carry counts only as multiples of the
rounding base (or say that they are withheld).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from outcomes.config import Settings, get_settings
from outcomes.demo import generate_demo
from outcomes.impact.dashboard import Dashboard, build_dashboard
from outcomes.store.engine import session_scope

SETTINGS = get_settings({})
# A whole number standing alone: not part of a decimal ("0.12", "1.041") or of a word.
WHOLE_NUMBER = re.compile(r"(?<![\w.])(\d+)(?![\w]|\.\d)")
# Table columns holding counts of people even when stored as floats.
COUNT_COLUMNS = {
    "n",
    "successes",
    "numerator",
    "denominator",
    "rate_base",
    "average_n",
    "effective_n",
    "at_risk",
    "n_first",
    "n_second",
    "smaller_n",
}
# Text columns that describe a metric the same way for every institution ("mean score (1-5)").
DESCRIPTIONS = {"method", "unit", "definition"}


def exact_small_counts(text: str, settings: Settings = SETTINGS) -> list[int]:
    """Whole numbers in ``text`` that are small and that rounding could not have produced.

    Small: below the percentage base rounded up (22.5 → 23 by default) and, since an
    average is withheld at or below its threshold, at most that threshold as well.
    """
    small = max(math.ceil(settings.min_base_for_percent), settings.max_n_hiding_average + 1)
    text = re.sub(r"\d+ months", "months", text)  # the wave, not a count of people
    numbers = [int(match) for match in WHOLE_NUMBER.findall(text)]
    return [n for n in numbers if 0 < n < small and n % settings.rounding_base != 0]


def cell_counts(table: pd.DataFrame) -> Iterator[tuple[str, object]]:
    """Every cell a reviewer sees that could show a count, with its column."""
    for column in table.columns:
        values = table[column]
        is_count = column in COUNT_COLUMNS or pd.api.types.is_integer_dtype(values)
        for value in values.dropna():
            if isinstance(value, str):
                if column in DESCRIPTIONS:
                    continue
                yield column, value
            elif is_count and not isinstance(value, bool):
                number = float(value)  # type: ignore[arg-type]
                # A whole count is checked as written; a fractional "count" (a Kish
                # effective n) is shown with decimals and would reveal the exact one.
                yield column, f"{number:.0f}" if number.is_integer() else f"{number}/fraction"


def reviewer_sees(board: Dashboard) -> Iterator[tuple[str, str]]:
    """(where, text) for every sentence and table cell of the dashboard."""
    sections = {
        "metrics": board.metrics,
        "comparison": board.comparison,
        "trend": board.trend,
        "time to job": board.time_to_job,
        "non-response": board.nonresponse,
        "programme pairs": board.programme_pairs,
    }
    for name, section in sections.items():
        if section.refusal is not None:
            yield f"{name} refusal", section.refusal
    for name, sentence in (
        ("headline", board.headline()),
        ("overlap", board.overlap_sentence()),
        *(("median", line) for line in board.median_lines()),
    ):
        if sentence is not None:
            yield name, sentence
    if board.comparison.value is not None:
        for note in board.comparison.value.notes:
            yield "comparison note", note
    tables: dict[str, pd.DataFrame | None] = {
        "metrics": board.metrics.value,
        "trend": board.trend.value,
        "survival": board.survival_frame(),
        "programme pairs": board.programme_pairs.value,
    }
    view = board.nonresponse.value
    if view is not None:
        yield "non-response summary", view.summary
        tables["non-response rates"] = view.rates
        tables["attrition"] = view.attrition
    for name, table in tables.items():
        if table is not None:
            for column, text in cell_counts(table):
                yield f"{name}.{column}", text


# Each disclosure setting moved away from its default: every view must follow the setting,
# not a number written into the code.
THRESHOLDS = {
    "HESA defaults": {},
    "rounding to 10": {"OUTCOMES_ROUNDING_BASE": "10"},
    "a percentage base of 40": {"OUTCOMES_MIN_BASE_FOR_PERCENT": "40"},
    "averages withheld up to 30": {"OUTCOMES_MAX_N_HIDING_AVERAGE": "30"},
}


@pytest.mark.parametrize("thresholds", list(THRESHOLDS), ids=list(THRESHOLDS))
def test_no_sentence_or_cell_a_reviewer_sees_holds_an_exact_small_count(
    engine: sa.Engine, thresholds: str
) -> None:
    settings = get_settings(THRESHOLDS[thresholds])
    generate_demo(engine, learners=150, seed=5)
    found = []
    refused_for_size = False
    with session_scope(engine) as session:
        for wave in (6, 36):
            board = build_dashboard(
                session, settings, role="reviewer", user_id=None, wave_months=wave
            )
            refused_for_size |= "Too few graduates" in (board.comparison.refusal or "")
            for where, text in reviewer_sees(board):
                if "/fraction" in text or exact_small_counts(text, settings):
                    found.append(f"wave {wave}, {where}: {text}")
    assert refused_for_size, "the data must exercise a comparison refused for small groups"
    assert not found, "\n".join(found)


def test_the_check_catches_the_counts_it_is_meant_to() -> None:
    assert exact_small_counts("Too few: 2 holders and 4 in the comparison group") == [2, 4]
    assert exact_small_counts("withheld (fewer than 8 graduates)") == [8]
    assert exact_small_counts("10 (rounded) holders, fewer than 5, 95% CI 0.12 to 1.041") == []
    assert exact_small_counts("at 6 months; cohort '2026'; at least 30") == []
