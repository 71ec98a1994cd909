"""What the survey's browser tests share: a phone-sized page, the requests it makes, and a
walk through every page of a survey answering whatever is valid.

The buttons are found by their form's name and value, not their words, so one walk serves
both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from outcomes.web.survey.routes import SURVEY_PATH_PREFIXES

# A small phone (an iPhone SE/mini class screen) in CSS pixels.
PHONE = {"width": 375, "height": 740}
# WCAG 1.4.10 Reflow: content reflows without horizontal scrolling at 320 CSS px, which is
# what a 1280 px wide window shows at 400 % zoom (and a 640 px one at 200 %). Chromium's
# headless zoom cannot be driven from Playwright, so the reflow check is made at that width.
NARROWEST = {"width": 320, "height": 640}
# What graduates must never load: the Streamlit frontend (2.6 MB and a WebSocket).
STREAMLIT_PATHS = ("/static/", "/_stcore/")
TIMEOUT_MS = 20_000

START = "form[action$='/survey/start'] button[value=start]"
NEXT = "form[data-section] button[name=nav][value=next]"
SEND = "form[action$='/survey/submit'] button[type=submit]"
SECTION_FORM = "form[data-section]"
SUMMARY = "[data-summary]"

# Answers whatever a section asks with something valid: "employed" where it is a choice (so
# the job sections are shown), "No" to yes/no questions (so "months to job" is asked), the
# first choice elsewhere, a small number or a word in text fields, the first listed code.
ANSWER_ANYTHING = """() => {
  const form = document.querySelector("form[data-section]");
  const groups = {};
  for (const radio of form.querySelectorAll("input[type=radio]")) {
    (groups[radio.name] = groups[radio.name] || []).push(radio);
  }
  for (const radios of Object.values(groups)) {
    const pick = radios.find((r) => r.value === "employed")
      || radios.find((r) => r.value === "no") || radios[0];
    pick.checked = true;
  }
  for (const box of form.querySelectorAll("input[type=checkbox]")) box.checked = true;
  for (const input of form.querySelectorAll("input[type=text]")) {
    input.value = input.inputMode ? "3" : "Example";
  }
  for (const input of form.querySelectorAll("input[type=month]")) input.value = "2024-05";
  for (const text of form.querySelectorAll("textarea")) text.value = "Nothing more.";
  for (const select of form.querySelectorAll("select")) {
    if (select.selectedIndex <= 0) select.selectedIndex = select.options.length > 1 ? 1 : 0;
  }
  form.dispatchEvent(new Event("change"));
}"""


@dataclass
class PageLog:
    """Every request a page made, and every error it reported.

    Requests are seen twice: by Playwright (``page.on("request")``), which leaves out the
    requests the browser makes on its own, such as ``/favicon.ico``, and by CDP's
    ``Network.requestWillBeSent``, which sees those too.
    """

    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        """Record ``page``'s requests, console errors and uncaught exceptions."""
        page.on("request", lambda request: self.urls.append(request.url))
        network = page.context.new_cdp_session(page)
        network.on(
            "Network.requestWillBeSent", lambda sent: self.urls.append(sent["request"]["url"])
        )
        network.send("Network.enable")
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        return [urlsplit(url).path for url in self.urls]

    def streamlit_requests(self) -> list[str]:
        """Requests for the Streamlit frontend (there must be none)."""
        return [path for path in self.paths() if path.startswith(STREAMLIT_PATHS)]

    def outside_the_survey(self) -> list[str]:
        """Requests for anything but the survey's own routes (there must be none)."""
        return [path for path in self.paths() if not path.startswith(SURVEY_PATH_PREFIXES)]


def phone_page(browser: Any, *, viewport: dict[str, int] | None = None) -> tuple[Any, Any, PageLog]:
    """A fresh context (no cookies) with one page at a phone's width: (context, page, log)."""
    context = browser.new_context(viewport=viewport or PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log = PageLog()
    log.watch(page)
    return context, page, log


def follow(page: Any, control: Any) -> None:
    """Click a control that submits a form, and wait for the page it leads to."""
    with page.expect_navigation(wait_until="load"):
        control.click()


def step_label(page: Any) -> str:
    """The "Section n of m" line of a section page."""
    return str(page.locator("main p.meta").first.inner_text())


def no_horizontal_scroll(page: Any) -> bool:
    """Whether the page fits its viewport's width (no horizontal scrolling)."""
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


Visit = Callable[[Any, str], None]


def walk_survey(page: Any, link: str, visit: Visit, *, language: str = "en") -> None:
    """Open ``link`` and go through the whole survey, calling ``visit(page, name)`` on each page.

    The pages: ``start``, each section once answered (``section:<id>``), the nudge about
    unanswered questions when a section gets one (``nudge:<id>``), ``review`` and ``done``.
    In Spanish the switch link on the start page is followed first.
    """
    page.goto(link)
    if language != "en":
        page.locator(f"header a[hreflang={language}]").click()
        page.wait_for_url(f"**/survey?lang={language}")
        assert page.locator("html").get_attribute("lang") == language
    visit(page, "start")
    follow(page, page.locator(START))
    for _ in range(12):
        form = page.locator(SECTION_FORM)
        if form.count() == 0:
            break
        section = form.get_attribute("data-section")
        page.evaluate(ANSWER_ANYTHING)
        visit(page, f"section:{section}")
        follow(page, page.locator(NEXT))
        if page.locator(SUMMARY).count():
            visit(page, f"nudge:{section}")
            follow(page, page.locator(NEXT))
    assert page.locator(SEND).count() == 1, "the walk ends on the review page"
    visit(page, "review")
    follow(page, page.locator(SEND))
    visit(page, "done")
