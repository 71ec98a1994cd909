"""Fixtures of the app tests: a clock the test moves by hand."""

from __future__ import annotations

import pytest

from outcomes.access import sessions
from tests.app.test_signin_sessions import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The app's clock (``sessions.now``), starting at ``START`` and moved with ``advance``."""
    fake = Clock()
    monkeypatch.setattr(sessions, "now", fake)
    return fake
