"""The Streamlit glue shared by ``app.py`` and the pages: engine, current user, page guard.

Pages stay thin: they call ``guard(key)`` first, then one function of the ``outcomes``
package, then render. Domain errors are shown with ``show_error`` as one plain sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy.engine import Engine

from outcomes.access import ANONYMOUS, GRADUATE, can_open, page
from outcomes.config import get_settings
from outcomes.db import make_engine
from outcomes.errors import OutcomesError
from outcomes.migrate import check_current


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    check_current(engine)
    return engine


def get_engine() -> Engine:
    """The process-wide engine for the configured database (checked to be migrated)."""
    return _engine_for(get_settings().database_url)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the app in this browser session."""

    audience: str
    user_id: int | None = None
    email: str | None = None

    @property
    def is_staff(self) -> bool:
        """True for signed-in staff."""
        return self.audience not in (ANONYMOUS, GRADUATE)


def current_viewer() -> Viewer:
    """The viewer of this session: staff, graduate (with a survey token) or anonymous."""
    staff = st.session_state.get("staff")
    if isinstance(staff, Viewer):
        return staff
    if st.session_state.get("survey_token_hash"):
        return Viewer(GRADUATE)
    return Viewer(ANONYMOUS)


def guard(key: str) -> Viewer:
    """Stop the page unless the current viewer may open it (a URL must not bypass roles)."""
    viewer = current_viewer()
    if not can_open(viewer.audience, key):
        st.error(f"You do not have access to {page(key).title}.")
        st.stop()
    return viewer


def show_error(exc: OutcomesError) -> None:
    """Show a domain error as one plain sentence."""
    st.error(str(exc))
