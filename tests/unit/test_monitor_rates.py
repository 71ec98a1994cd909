"""The monitor's pure part: rates, Wilson intervals, targets and disclosure from plain counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from outcomes.analysis.disclosure import DisclosurePolicy
from outcomes.analysis.publication import Publication
from outcomes.config import Settings
from outcomes.fieldwork.monitor import (
    COUNTS,
    TOTAL,
    Counts,
    DayFigures,
    Targets,
    WaveFigures,
    figures_from_counts,
    publication_for,
    rate,
    targets,
)
from outcomes.vocab import INVITATION_SKIP_REASONS

SETTINGS = Settings(secret_key="k" * 40, response_rate_target=0.6, knowledge_rate_target=0.65)
GOALS = Targets(0.6, 0.65, "wave", "settings")


def _counts(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in COUNTS}


def test_every_count_is_a_field_of_the_result_and_every_skip_reason_has_one() -> None:
    assert tuple(f.name for f in dataclasses.fields(Counts)) == COUNTS
    assert {f"skipped_{r}" for r in INVITATION_SKIP_REASONS} <= set(COUNTS)


@pytest.mark.parametrize(
    ("numerator", "denominator", "low", "high"),
    [
        # Newcomb (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson):
        # 81/263 → 0.2553 to 0.3662, 15/148 → 0.0624 to 0.1605.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        # statsmodels proportion_confint(method="wilson"), to 4 decimals.
        (12, 40, 0.1807, 0.4543),
        (0, 20, 0.0, 0.1611),
    ],
)
def test_a_rate_has_its_wilson_interval(
    numerator: int, denominator: int, low: float, high: float
) -> None:
    result = rate(numerator, denominator, target=0.6)
    assert result.estimate == pytest.approx(numerator / denominator)
    assert_allclose([result.ci_low, result.ci_high], [low, high], atol=5e-5)
    assert result.method == "Wilson score" and result.confidence == 0.95


def test_a_rate_meets_its_target_at_or_above_it_and_has_no_verdict_without_a_base() -> None:
    assert rate(30, 50, target=0.6).met is True
    assert rate(29, 50, target=0.6).met is False
    empty = rate(0, 0, target=0.6)
    assert empty.estimate is None and empty.ci_low is None and empty.met is None


def test_a_wave_without_targets_of_its_own_uses_the_settings_defaults() -> None:
    assert targets(response_rate=None, knowledge_rate=None, settings=SETTINGS) == Targets(
        0.6, 0.65, "settings", "settings"
    )
    assert targets(response_rate=0.45, knowledge_rate=None, settings=SETTINGS) == Targets(
        0.45, 0.65, "wave", "settings"
    )
    assert targets(response_rate=None, knowledge_rate=0.8, settings=SETTINGS) == Targets(
        0.6, 0.8, "settings", "wave"
    )


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "programme_id": 1,
                "code": "DA-101",
                "title": "Data",
                **_counts(population=50, invited=40, complete=12, known=20, other_source=8),
            },
            {
                "programme_id": 2,
                "code": "UX-201",
                "title": "UX",
                **_counts(population=10, invited=10, complete=9, known=9),
            },
        ]
    )


def test_the_response_rate_is_over_the_invited_and_the_knowledge_rate_over_everyone() -> None:
    rows, wave = figures_from_counts(_frame(), goals=GOALS)
    data, ux = rows
    # domain.md §4: complete ÷ invited (skipped excluded); known ÷ the whole population.
    assert (data.response_rate.numerator, data.response_rate.denominator) == (12, 40)
    assert (data.knowledge_rate.numerator, data.knowledge_rate.denominator) == (20, 50)
    assert data.response_rate.met is False and ux.response_rate.met is True
    assert data.knowledge_rate.target == 0.65
    assert wave.code == TOTAL and wave.programme_id is None
    assert wave.counts.population == 60 and wave.counts.invited == 50
    assert wave.response_rate.estimate == pytest.approx(21 / 50)
    assert wave.knowledge_rate.estimate == pytest.approx(29 / 60)


def test_a_wave_with_no_programme_counts_zero_and_has_no_rates() -> None:
    rows, wave = figures_from_counts(_frame().iloc[0:0], goals=GOALS)
    assert rows == () and wave.counts.population == 0
    assert wave.response_rate.estimate is None and wave.knowledge_rate.met is None


def _figures() -> WaveFigures:
    rows, wave = figures_from_counts(_frame(), goals=GOALS)
    return WaveFigures(
        wave_id=3,
        name="Six months on",
        status="open",
        opens_on=dt.date(2025, 1, 1),
        closes_on=dt.date(2025, 3, 31),
        targets=GOALS,
        programmes=rows,
        wave=wave,
        by_day=(
            DayFigures(dt.date(2025, 1, 2), 40, 0, 3),
            DayFigures(dt.date(2025, 1, 9), 0, 12, 18),
        ),
        scoped=False,
    )


def test_the_json_form_holds_every_figure_and_survives_json() -> None:
    data = json.loads(json.dumps(_figures().to_json()))
    assert data["wave_id"] == 3 and data["opens_on"] == "2025-01-01"
    assert [p["code"] for p in data["programmes"]] == ["DA-101", "UX-201"]
    response = data["programmes"][0]["response_rate"]
    assert response["numerator"] == 12 and response["denominator"] == 40
    assert response["met"] is False and response["target"] == 0.6
    assert data["programmes"][0]["counts"]["skipped_by_reason"] == {"opted_out": 0, "erased": 0}
    assert data["by_day"][1] == {"day": "2025-01-09", "sent": 0, "reminders": 12, "completed": 18}
    assert data["exact"] is True and data["disclosure"] is None


def test_the_table_has_a_row_per_programme_and_one_for_the_wave() -> None:
    table = _figures().table()
    assert list(table["programme"]) == ["DA-101", "UX-201", TOTAL]
    assert list(table["population"]) == [50, 10, 60]
    assert table["response_rate_met"].tolist() == [False, True, False]


def test_the_by_day_frame_is_long_for_a_chart() -> None:
    frame = _figures().by_day_frame()
    assert list(frame.columns) == ["day", "series", "count"]
    assert frame.groupby("series")["count"].sum().to_dict() == {
        "completed": 21,
        "reminders": 12,
        "sent": 40,
    }


def test_staff_with_exact_count_rights_read_the_figures_as_counted() -> None:
    figures = _figures()
    assert publication_for("admin", SETTINGS).is_controlled is False
    assert publication_for("manager", SETTINGS).is_controlled is False
    assert figures.published(publication_for("manager", SETTINGS)) is figures


def test_other_roles_read_rounded_counts_and_no_rate_on_a_small_base() -> None:
    policy = DisclosurePolicy.from_settings(SETTINGS)
    assert publication_for("reviewer", SETTINGS) == Publication.controlled(policy)
    shown = _figures().published(publication_for("reviewer", SETTINGS))
    data, ux = shown.programmes
    assert shown.exact is False and shown.disclosure == policy.statement()
    # HESA rounding to 5: 12 → 10, 8 → 10, 9 → 10; 0 stays 0.
    assert (data.counts.population, data.counts.complete, data.counts.other_source) == (50, 10, 10)
    # The base of 40 is at least 22.5: the rate is shown, rounded to whole percentages.
    assert data.response_rate.estimate == 0.3 and data.response_rate.ci_low == 0.18
    # UX-201's base of 10 is below 22.5: its rates are withheld, and so is the verdict.
    assert ux.response_rate.estimate is None and ux.response_rate.met is None
    assert ux.counts.population == 10 and ux.response_rate.denominator == 10
    # Days: 3 completions are withheld (1 to 4), 18 are rounded to 20.
    assert [(d.completed, d.reminders) for d in shown.by_day] == [(None, 0), (20, 10)]


def test_a_rate_whose_numerator_is_withheld_is_withheld_too() -> None:
    frame = _frame()
    frame.loc[0, "complete"] = 3  # 3 of 40: the base is large, the numerator small
    rows, wave = figures_from_counts(frame, goals=GOALS)
    figures = dataclasses.replace(_figures(), programmes=rows, wave=wave)
    shown = figures.published(publication_for("reviewer", SETTINGS))
    assert shown.programmes[0].counts.complete is None
    assert shown.programmes[0].response_rate.estimate is None
