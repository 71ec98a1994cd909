"""The exit survey completed with the keyboard alone, focus visible at every stop.

Only what a keyboard user presses: Tab to move, Space to choose the focused radio, Enter on
a button, letters typed into the focused field. A radio group is one Tab stop (the browser
focuses its checked radio, or its first); choosing any other radio of the group takes the
arrow keys, as in every browser, so ArrowDown is pressed for those (and only those). A
closed select takes typed letters (type-ahead) to change its choice.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from outcomes.store.engine import make_engine
from outcomes.store.tables import Response
from tests.browser.survey_pages import phone_page, step_label
from tests.serving import RunningApp

SERVED = "a real server on a SQLite file: the browser tier tests pages, not the database"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only(SERVED)]

MAX_TABS = 80
# The focused element, and whether its focus indicator can be seen: an outline (the pages
# draw a 3 px one and a dark ring) that is not "none" and has a width.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const described = el.id ? "#" + el.id : el.tagName.toLowerCase() + ":" + el.textContent.trim();
  return {
    described: described.slice(0, 60),
    visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
  };
}"""


class Keyboard:
    """A graduate with only a keyboard, noting every focus stop that shows no focus."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.stops: list[str] = []
        self.invisible: list[str] = []

    def tab_to(self, selector: str) -> None:
        """Press Tab until the element matching ``selector`` has focus."""
        for _ in range(MAX_TABS):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED)
            self.stops.append(focused["described"])
            if not focused["visible"]:
                self.invisible.append(focused["described"])
            if self.page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}; the stops: {self.stops[-MAX_TABS:]}")

    def choose(self, name: str, value: str) -> None:
        """Tab to a radio group, then choose ``value`` (Space, or arrows past the first)."""
        self.tab_to(f"input[type=radio][name='{name}']")
        for _ in range(20):
            if self.page.evaluate("() => document.activeElement.value") == value:
                break
            # Arrow keys move within a group (and choose as they move): Tab cannot.
            self.page.keyboard.press("ArrowDown")
        self.page.keyboard.press("Space")
        assert self.page.locator(f"input[name='{name}'][value='{value}']").is_checked()

    def type_into(self, selector: str, text: str) -> None:
        self.tab_to(selector)
        self.page.keyboard.type(text)

    def press_button(self, selector: str) -> None:
        """Tab to a button and press Enter; wait for the page it leads to."""
        self.tab_to(selector)
        with self.page.expect_navigation(wait_until="load"):
            self.page.keyboard.press("Enter")


def test_the_exit_survey_can_be_completed_with_the_keyboard_alone(
    chromium: Any, survey_server: RunningApp
) -> None:
    invited = survey_server.invite("exit")
    context, page, log = phone_page(chromium)
    page.goto(invited.link)
    keys = Keyboard(page)

    keys.tab_to(".skip")  # the first stop: the skip link, shown when focused
    assert page.locator(".skip").is_visible()
    keys.press_button("button[value=start]")

    assert step_label(page) == "Section 1 of 3"
    keys.choose("baseline_activity", "employed")
    keys.type_into("#baseline_hours", "38")
    keys.type_into("#baseline_pay", "2100")
    keys.tab_to("#baseline_pay-currency")  # EUR is already chosen
    keys.tab_to("#baseline_pay-period")
    page.keyboard.type("m")  # type-ahead: "month"
    assert page.locator("#baseline_pay-period").input_value() == "monthly"
    keys.choose("reason", "change_career")
    keys.press_button("button[name=nav][value=next]")

    assert step_label(page) == "Section 2 of 3"
    keys.choose("satisfaction", "4")
    keys.choose("teaching", "5")
    keys.choose("recommend", "8")
    keys.type_into("#improve", "More worked examples.")
    keys.press_button("button[name=nav][value=next]")

    assert step_label(page) == "Section 3 of 3"
    keys.choose("intention", "new_job")
    keys.choose("contact_later", "yes")
    keys.press_button("button[name=nav][value=next]")

    page.get_by_role("heading", name="Check your answers").wait_for()
    keys.press_button("form[action$='/survey/submit'] button")
    page.get_by_role("heading", name="Thank you — your answers are in").wait_for()
    context.close()

    assert keys.invisible == [], "every focus stop shows where the focus is"
    assert log.streamlit_requests() == [] and log.errors == []
    engine = make_engine(survey_server.database_url)
    try:
        with Session(engine) as session:
            response = session.exec(
                select(Response).where(Response.invitation_id == invited.invitation_id)
            ).one()
    finally:
        engine.dispose()
    assert response.status == "complete"
    answers = response.answers
    assert answers["baseline_activity"] == "employed" and answers["baseline_hours"] == 38
    assert answers["baseline_pay"] == {"amount": 2100.0, "currency": "EUR", "period": "monthly"}
    assert answers["reason"] == "change_career" and answers["satisfaction"] == 4
    assert answers["teaching"] == 5 and answers["recommend"] == 8
    assert answers["improve"] == "More worked examples."
    assert answers["intention"] == "new_job" and answers["contact_later"] is True
