"""The browser tier: Debian's Chromium driven by Playwright (``.ci/run`` installs it).

Without ``/usr/bin/chromium`` these tests skip with the reason, except under CI (``CI=true``),
where a missing browser is a failure: CI must not pass by not looking.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import RunningApp, running_app, survey_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """A headless Chromium browser (a ``playwright.sync_api.Browser``)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"The browser tests must run in CI, but {reason}.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def survey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One ``streamlit run app.py`` for every survey test of the session (of the worker).

    Its database starts empty; each test invites its own graduates (``survey_server.invite``),
    so the tests share the server but no answers.
    """
    directory = tmp_path_factory.mktemp("survey-server")
    with running_app(directory, database_url=survey_database(directory)) as running:
        yield running
