"""The fieldwork monitor's chart, as a function of an aggregated frame (house style).

Only per-day totals reach it (Altair sends every row of its frame to the browser), never an
invitation. Tests check ``chart.to_dict()``, not pixels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

SERIES_TITLES = {
    "sent": "first messages sent",
    "reminders": "reminders sent",
    "completed": "responses completed",
}


def sends_and_completions(frame: pd.DataFrame, *, title: str = "") -> alt.Chart:
    """Messages sent and responses completed per day (UTC), one line per series.

    ``frame`` is long: ``day``, ``series`` (sent, reminders, completed) and ``count``, as
    ``WaveFigures.by_day_frame()`` gives it.
    """
    shown = frame.assign(series=frame["series"].map(SERIES_TITLES).fillna(frame["series"]))
    return (
        alt.Chart(shown, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:T", title="day (UTC)", axis=alt.Axis(format="%d %b")),
            y=alt.Y("count:Q", title="per day"),
            color=alt.Color("series:N", title=None, sort=list(SERIES_TITLES.values())),
            tooltip=[alt.Tooltip("day:T", format="%Y-%m-%d"), "series:N", "count:Q"],
        )
    )
