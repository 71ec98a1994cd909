"""Every page of the graduate's survey passes axe-core and reflows at 320 CSS px.

Every section of every shipped instrument, in English and in Spanish (through the page's
language switch), at a phone's width (375 px), plus the start page, the nudge about skipped
questions, the review page, the thank-you page and a section showing an error. Any
violation, of any impact, fails the test with the rule, its impact and the elements.
WCAG 1.4.10 (Reflow) is checked at 320 CSS px: the page must not scroll sideways.
"""

from __future__ import annotations

from typing import Any

import pytest

from outcomes.instruments.registry import load_shipped
from tests.browser.axe import axe_source, describe, load_into, violations
from tests.browser.survey_pages import (
    NARROWEST,
    NEXT,
    PHONE,
    START,
    SUMMARY,
    follow,
    no_horizontal_scroll,
    phone_page,
    walk_survey,
)
from tests.serving import SHIPPED_INSTRUMENTS, RunningApp

SERVED = "a real server on a SQLite file: the browser tier tests pages, not the database"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only(SERVED)]


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


class Audit:
    """axe and the reflow check on each page visited; what failed, by page."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.violations: dict[str, str] = {}
        self.scrolls_sideways: list[str] = []

    def __call__(self, page: Any, name: str) -> None:
        self.visited.append(name)
        found = violations(page)
        if found:
            self.violations[name] = describe(found)
        page.set_viewport_size(NARROWEST)
        if not no_horizontal_scroll(page):
            self.scrolls_sideways.append(name)
        page.set_viewport_size(PHONE)

    def report(self) -> str:
        return "\n".join(f"{name}:\n{lines}" for name, lines in self.violations.items())


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("instrument", SHIPPED_INSTRUMENTS)
def test_every_page_of_an_instrument_passes_axe_and_reflows(
    chromium: Any, survey_server: RunningApp, axe: str, instrument: str, language: str
) -> None:
    invited = survey_server.invite(instrument)
    context, page, log = phone_page(chromium)
    load_into(context, axe)
    audit = Audit()
    walk_survey(page, invited.link, audit, language=language)
    context.close()

    sections = load_shipped(instrument).sections
    shown = {name.split(":", 1)[1] for name in audit.visited if name.startswith("section:")}
    assert shown == {section.id for section in sections}, "the walk reached every section"
    assert {"start", "review", "done"} <= set(audit.visited)
    assert audit.violations == {}, audit.report()
    assert audit.scrolls_sideways == [], "these pages scroll sideways at 320 px"
    assert log.streamlit_requests() == []
    assert log.errors == [], "no console errors (a blocked style or script would show here)"


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_section_showing_an_error_passes_axe_and_its_summary_takes_focus(
    chromium: Any, survey_server: RunningApp, axe: str, language: str
) -> None:
    invited = survey_server.invite("follow-up-6m", language=language)
    context, page, log = phone_page(chromium)
    load_into(context, axe)
    page.goto(invited.link)
    assert page.locator("html").get_attribute("lang") == language
    follow(page, page.locator(START))
    page.locator("input[name=activity][value=employed]").check()
    follow(page, page.locator(NEXT))
    page.locator("#hours").fill("thirty")
    follow(page, page.locator(NEXT))

    assert page.locator(SUMMARY).count() == 1
    assert page.locator("#hours").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.matches('[data-summary]')"), "focus moved"
    audit = Audit()
    audit(page, "section:job with an error")
    context.close()
    assert audit.violations == {}, audit.report()
    assert audit.scrolls_sideways == []
    # The one expected message: Chromium logs the 422 status of the page with the error.
    assert [line for line in log.errors if "status of 422" not in line] == []
