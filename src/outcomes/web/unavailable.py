"""What a visitor sees when the app cannot start serving pages (settings, database).

The domain sentences of ``SettingsError`` and ``DatabaseError`` are written for operators: they
name the database URL (host, user, database name) and quote the driver, which names the host
again. Whoever opens the app before signing in may be anyone, so the page shows a sentence
without any of that, and the full sentence goes to the server log for the operator.
"""

from __future__ import annotations

import logging

import streamlit as st

from outcomes.errors import OutcomesError, SettingsError

logger = logging.getLogger(__name__)

MISCONFIGURED = (
    "The app is not configured correctly, so it cannot open: the server log says which "
    "setting to fix."
)
NEEDS_UPGRADE = (
    "The app's database is not at this version's schema: an administrator must run "
    "'outcomes db upgrade' (the server log has the details)."
)
UNAVAILABLE = (
    "The app cannot reach its database at the moment: please try again later (the server "
    "log has the details)."
)


def visitor_sentence(exc: OutcomesError) -> str:
    """One sentence for anyone, naming no host, URL, user or driver message."""
    if isinstance(exc, SettingsError):
        return MISCONFIGURED
    # The remedy is the one part of the operator's sentence worth keeping.
    if "outcomes db upgrade" in str(exc):
        return NEEDS_UPGRADE
    return UNAVAILABLE


def show_unavailable(exc: OutcomesError) -> None:
    """Log the operator's sentence, show the visitor's."""
    logger.error("The app cannot serve pages: %s", exc)
    st.error(visitor_sentence(exc))
