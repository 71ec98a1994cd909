"""The one path from a computed figure to what a viewer reads: exact, rounded or withheld.

A :class:`Publication` is either *exact* (administrators and managers, reading the
programmes in their own scope) or *controlled* by a
:class:`~outcomes.analysis.disclosure.DisclosurePolicy` (reviewers, and any role not named
as seeing exact counts: the rule fails closed). Every count, average, rate, table and
refusal sentence the dashboard shows goes through one of its methods, so the disclosure
rules of domain.md §6 apply in one place:

- counts are rounded to the nearest multiple of the rounding base (5), and counts from 1 to
  the count threshold − 1 are withheld ("fewer than 5");
- percentages are withheld where their base is below the percentage base (22.5);
- means and medians are withheld where they rest on ``max_n_hiding_average`` (7) people or
  fewer.

Tables go through :func:`~outcomes.analysis.disclosure.suppress_small_cells` (which also
protects withheld cells from recovery through totals); single figures and sentences through
the methods below. Pure: values in, publishable values or :data:`WITHHELD` out.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeAlias

import numpy as np
import pandas as pd

from outcomes.analysis.disclosure import DisclosurePolicy, DisclosureResult, suppress_small_cells
from outcomes.errors import OutcomesError


class Withheld(enum.Enum):
    """The marker of a figure that may not be published."""

    WITHHELD = "withheld"


WITHHELD: Final = Withheld.WITHHELD
Published: TypeAlias = float | Withheld

RATE_UNITS = ("proportion", "NPS points (-100 to 100)")


@dataclass(frozen=True)
class Publication:
    """How figures are published to one viewer: exact (``policy`` None) or controlled."""

    policy: DisclosurePolicy | None = None

    @classmethod
    def exact(cls) -> Publication:
        """Figures as computed (a manager or administrator within their scope)."""
        return cls(None)

    @classmethod
    def controlled(cls, policy: DisclosurePolicy) -> Publication:
        """Figures under disclosure control."""
        return cls(policy)

    @classmethod
    def for_viewer(cls, *, exact: bool, policy: DisclosurePolicy) -> Publication:
        """Exact when the viewer may read exact counts (``access.permissions``), else controlled."""
        return cls.exact() if exact else cls.controlled(policy)

    @property
    def is_controlled(self) -> bool:
        """True when figures are rounded and small ones withheld."""
        return self.policy is not None

    # --- single figures -----------------------------------------------------------------

    def count(self, value: float) -> Published:
        """A count as publishable: exact, rounded to the base, or ``WITHHELD`` when small."""
        if self.policy is None or not math.isfinite(value):
            return float(value)
        if 0 < value < self.policy.count_threshold:
            return WITHHELD
        return float(self.policy.round_count(np.array([value]))[0])

    def count_text(self, value: float) -> str:
        """A count in words: "12" exact, "10 (rounded)", or "fewer than 5" when withheld."""
        shown = self.count(value)
        if isinstance(shown, Withheld):
            assert self.policy is not None
            return f"fewer than {self.policy.count_threshold}"
        if self.policy is None or shown == 0:
            return f"{shown:.0f}"
        return f"{shown:.0f} (rounded)"

    def shows_average(self, n: float) -> bool:
        """True when a mean or median resting on ``n`` people may be published."""
        return self.policy is None or n > self.policy.max_n_hiding_average

    def shows_rate(self, base: float) -> bool:
        """True when a percentage (or a ratio of counts) on ``base`` people may be published."""
        return self.policy is None or base >= self.policy.min_base_for_percent

    def average(self, value: float, n: float) -> Published:
        """A mean or median resting on ``n`` people, or ``WITHHELD``."""
        return value if self.shows_average(n) else WITHHELD

    def rate(self, value: float, base: float) -> Published:
        """A percentage (or ratio) on ``base`` people, or ``WITHHELD``."""
        return value if self.shows_rate(base) else WITHHELD

    # --- sentences ----------------------------------------------------------------------

    def refusal(self, error: OutcomesError) -> str:
        """A refusal's sentence with the counts it names worded by :meth:`count_text`."""
        counts = getattr(error, "counts", None)
        if self.policy is None or not counts:
            return str(error)
        template: str = error.template  # type: ignore[attr-defined]
        return template.format(**{name: self.count_text(n) for name, n in counts.items()})

    def statement(self) -> str | None:
        """The rules applied, in one paragraph (None when figures are exact)."""
        return None if self.policy is None else self.policy.statement()

    # --- tables -------------------------------------------------------------------------

    def table(
        self,
        table: pd.DataFrame,
        *,
        counts: Sequence[str] = (),
        rates: Mapping[str, str | tuple[str, str]] | None = None,
        averages: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """The publishable table: as it is when exact; else through ``suppress_small_cells``.

        Column roles as in :func:`~outcomes.analysis.disclosure.suppress_small_cells`:
        counts rounded and small ones withheld, rates withheld on small bases (or withheld
        numerators), averages withheld on small n.
        """
        if self.policy is None:
            return table.copy()
        return suppress_small_cells(
            table, self.policy, counts=counts, rates=rates, averages=averages
        ).published

    def metrics(self, table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
        """A metrics panel's frame as this viewer may read it, with the rules applied."""
        if self.policy is None:
            return table.copy(), None
        result = publishable_metrics_table(table, self.policy)
        return result.published, result.statement()


def publishable_metrics_table(table: pd.DataFrame, policy: DisclosurePolicy) -> DisclosureResult:
    """A metrics panel's frame (``MetricsPanel.to_frame()``) under disclosure control.

    Estimates are split into rate and average columns so that each follows its own rule:
    rates and NPS are withheld below the percentage base and wherever their numerator is
    withheld (rate × base would reveal it); means and salary quantiles where n is at most
    the averages threshold; counts are rounded; published rates are rounded to whole
    percentages (NPS to whole points) so that a rounded count cannot be worked back to its
    exact value.
    """
    table = table.copy()
    is_rate = table["unit"].isin(RATE_UNITS)
    for kind, mask in (("rate", is_rate), ("average", ~is_rate)):
        for name in ("estimate", "ci_low", "ci_high"):
            table[f"{kind}_{name}"] = table[name].where(mask)
    table["rate_base"] = table["n"].where(is_rate)
    table["average_n"] = table["n"].where(~is_rate)
    table = table.drop(columns=["estimate", "ci_low", "ci_high"])
    rate_columns = ("rate_estimate", "rate_ci_low", "rate_ci_high")
    result = suppress_small_cells(
        table,
        policy,
        # The bases are copies of n: rounded like every other count, never published raw.
        counts=("numerator", "denominator", "n", "rate_base", "average_n"),
        rates=dict.fromkeys(rate_columns, ("numerator", "rate_base")),
        averages=dict.fromkeys(
            ("average_estimate", "average_ci_low", "average_ci_high"), "average_n"
        ),
    )
    published = result.published.copy()
    whole_points = published["unit"] != "proportion"
    for column in rate_columns:
        values = published[column].astype("float64")
        published[column] = values.where(whole_points, values.round(2)).where(
            ~whole_points, values.round(0)
        )
    return replace(result, published=published)
